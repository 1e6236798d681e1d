import { LRUCache } from 'lru-cache';
import type { Deps } from '../../../context.js';
import type { DegradedReporter, IdentityUser } from './types.js';

/** While the user store is away, ask it again at most this often per user (the last-known facts serve meanwhile). */
const STALE_RETRY_MS = 1_000;

/** A user as the store had it at `loadedAt`; `user` null: the store has no such user. */
export class UserFacts {
  constructor(
    readonly user: IdentityUser | null,
    /** When read from the store (clock ms); fresh for `session.cacheTtlMs`. */
    public loadedAt: number,
  ) {}
}

/**
 * The current username and roles of the users behind access tokens, so that narrowing what a
 * user may do (a role removed) reaches access tokens within the same bound as cookies and API
 * tokens (`session.cacheTtlMs`, 30 s by default; DESIGN §6), not only when the token expires.
 * The passport of an access token carries the user's roles as the store had them at most that
 * long ago, whatever roles the token was issued with.
 *
 * Steady state: one map lookup, no store call. A user read longer ago than the TTL is read
 * again (once, however many requests wait for it). While the user store is away, the last-known
 * facts (else the token's own claims) are served and the store is asked again each second:
 * DESIGN §4 keeps access tokens working through a PostgreSQL outage.
 */
export class CurrentUsers {
  private readonly cache: LRUCache<string, UserFacts>;
  private readonly inflight = new Map<string, Promise<UserFacts>>();
  /** How long facts are trusted (`session.cacheTtlMs`). */
  readonly ttlMs: number;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'clock' | 'stores' | 'logger'>,
    /** Told of every decision taken in a degraded mode (metrics). */
    private readonly degraded: DegradedReporter = () => undefined,
  ) {
    this.ttlMs = deps.config.session.cacheTtlMs;
    this.cache = new LRUCache<string, UserFacts>({ max: Math.max(1, deps.config.session.cacheMax) });
  }

  /** The user's facts if they were read less than the TTL ago; no store call. */
  fresh(userId: string, now: number): UserFacts | undefined {
    const facts = this.cache.get(userId);
    return facts !== undefined && now - facts.loadedAt < this.ttlMs ? facts : undefined;
  }

  /**
   * Reads the user from the store. When the store fails: the last-known facts, else `fallback`
   * (what the token says), either kept for a second before the store is asked again.
   */
  load(userId: string, fallback: IdentityUser): Promise<UserFacts> {
    let pending = this.inflight.get(userId);
    if (pending === undefined) {
      pending = this.read(userId, fallback);
      this.inflight.set(userId, pending);
      const done = () => this.inflight.delete(userId);
      pending.then(done, done);
    }
    return pending;
  }

  clear(): void {
    this.cache.clear();
  }

  private async read(userId: string, fallback: IdentityUser): Promise<UserFacts> {
    try {
      const record = await this.deps.stores.users.findById(userId);
      const facts = new UserFacts(record === null ? null : { id: record.id, username: record.username, roles: [...record.roles] }, this.deps.clock.now());
      const previous = this.cache.peek(userId);
      // Unchanged: keep the same object, so identities built from it stay valid (no rebuild).
      if (previous !== undefined && sameUser(previous.user, facts.user)) {
        previous.loadedAt = facts.loadedAt;
        return previous;
      }
      this.cache.set(userId, facts);
      return facts;
    } catch (err) {
      const now = this.deps.clock.now();
      const previous = this.cache.peek(userId);
      const retryAt = now - this.ttlMs + STALE_RETRY_MS;
      if (previous !== undefined) {
        this.deps.logger.warn({ err }, 'user store unavailable; access tokens carry the roles last read');
        this.degraded('access_token_user_from_memory');
        previous.loadedAt = retryAt;
        return previous;
      }
      this.deps.logger.warn({ err }, 'user store unavailable; an access token carries the roles it was issued with');
      this.degraded('access_token_user_from_token');
      const facts = new UserFacts({ id: fallback.id, username: fallback.username, roles: [...fallback.roles] }, retryAt);
      this.cache.set(userId, facts);
      return facts;
    }
  }
}

function sameUser(a: IdentityUser | null, b: IdentityUser | null): boolean {
  if (a === null || b === null) return a === b;
  return a.id === b.id && a.username === b.username && a.roles.length === b.roles.length && a.roles.every((r, i) => r === b.roles[i]);
}
