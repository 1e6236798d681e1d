import { LRUCache } from 'lru-cache';
import type { Deps } from '../../../context.js';
import { hashSecret } from '../../../crypto/secrets.js';
import { GatehouseError, StoreUnavailableError } from '../../../errors/index.js';
import type { RevocationEvent, SessionRecord, UserRecord } from '../../../stores/types.js';
import { DUPLICATE } from '../../exchange.js';
import type { RevocationSet } from '../../revocation-set.js';
import { InvalidSessionCookieError } from './errors.js';
import type { AuthInput, Authenticator, Identity, IdentityUser } from './types.js';

/** While the store is away, retry it at most this often per cached session (hot copy served meanwhile). */
const STALE_RETRY_MS = 1_000;
/** Longer than any cookie we mint (43 chars); bounds the hashing work on garbage. */
const MAX_COOKIE_LENGTH = 256;

/** A cached session: the Identity of every request that carries its cookie (no per-request object). */
export class SessionEntry implements Identity {
  readonly auth = 'session' as const;
  readonly scopes = undefined;
  readonly user: IdentityUser;
  readonly sid: string;
  readonly did: string;
  readonly csrfToken: string;
  readonly cacheKey: string;
  readonly stamp: string;

  constructor(
    readonly tokenHash: string,
    /** Our own copy; touch() updates lastSeenAt/expiresAt in place. */
    readonly session: SessionRecord,
    user: UserRecord,
    /** When read from the store (clock ms); the entry is fresh for session.cacheTtlMs. */
    public loadedAt: number,
  ) {
    // Only what a passport needs: never keep the password hash in the cache.
    this.user = { id: user.id, username: user.username, roles: [...user.roles] };
    this.sid = session.id;
    this.did = session.deviceId;
    this.csrfToken = session.csrfToken;
    this.cacheKey = session.id;
    this.stamp = `${user.username}\n${user.roles.join(',')}`;
  }
}

/**
 * The session cookie: `hashSecret(cookie)` -> a small LRU of `{session, user}` in front of the
 * stores. The revocation feed drops entries (and, through `onDrop`, cached passports) at once;
 * ended sids are remembered in the gateway's shared RevocationSet and checked on every request,
 * so a store read that raced a sign-out cannot bring a session back. Sliding expiry is written at most once per
 * touchIntervalSec, fire-and-forget.
 */
export class SessionCookieAuthenticator implements Authenticator {
  readonly name = 'session-cookie';
  private readonly cache: LRUCache<string, SessionEntry>;
  private readonly bySid = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<SessionEntry | null>>();
  /** Bumped by every revocation event: a read that straddles one is used once, not cached. */
  private epoch = 0;
  private readonly unsubscribe: () => void;
  private readonly ttlMs: number;
  private readonly touchMs: number;

  constructor(
    private readonly deps: Deps,
    private readonly revocations: RevocationSet,
    /** Called with the sid whenever a session leaves the cache (revoked, evicted, expired). */
    private readonly onDrop: (sid: string) => void,
  ) {
    const s = deps.config.session;
    this.ttlMs = s.cacheTtlMs;
    this.touchMs = s.touchIntervalSec * 1000;
    this.cache = new LRUCache<string, SessionEntry>({
      max: Math.max(1, s.cacheMax),
      dispose: (entry, key, reason) => {
        if (reason !== 'set') this.unindex(entry, key);
      },
    });
    this.unsubscribe = revocations.onEvent((event) => this.onRevocation(event));
  }

  authenticate(input: AuthInput): SessionEntry | Promise<SessionEntry> | null {
    const cookie = input.sessionCookie;
    if (cookie === undefined) return null;
    if (cookie === DUPLICATE || cookie === '' || cookie.length > MAX_COOKIE_LENGTH) throw new InvalidSessionCookieError();
    const tokenHash = hashSecret(cookie);
    const now = this.deps.clock.now();
    const entry = this.cache.get(tokenHash);
    // Hot path: no store call, no allocation.
    if (entry !== undefined && now - entry.loadedAt < this.ttlMs) return this.accept(entry, now);
    return this.load(tokenHash, entry);
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
  }

  private accept(entry: SessionEntry, now: number): SessionEntry {
    const s = entry.session;
    if (s.expiresAt <= now || s.absoluteExpiresAt <= now) {
      this.cache.delete(entry.tokenHash);
      throw new InvalidSessionCookieError();
    }
    if (this.revocations.sessionEnded(s.id, now)) {
      this.cache.delete(entry.tokenHash);
      throw new InvalidSessionCookieError();
    }
    if (now - s.lastSeenAt >= this.touchMs) this.touch(s, now);
    return entry;
  }

  private async load(tokenHash: string, stale: SessionEntry | undefined): Promise<SessionEntry> {
    // Concurrent requests of one cold session share one store read.
    let pending = this.inflight.get(tokenHash);
    if (pending === undefined) {
      pending = this.read(tokenHash, stale);
      this.inflight.set(tokenHash, pending);
      const done = () => this.inflight.delete(tokenHash);
      pending.then(done, done);
    }
    const entry = await pending;
    if (entry === null) throw new InvalidSessionCookieError();
    return this.accept(entry, this.deps.clock.now());
  }

  private async read(tokenHash: string, stale: SessionEntry | undefined): Promise<SessionEntry | null> {
    const epoch = this.epoch;
    let session: SessionRecord | null;
    let user: UserRecord | null = null;
    try {
      session = await this.deps.stores.sessions.findByTokenHash(tokenHash);
      if (session) user = await this.deps.stores.users.findById(session.userId);
    } catch (err) {
      if (stale !== undefined && this.cache.peek(tokenHash) === stale) {
        // DESIGN §4: a session in the hot copy keeps working while its store is away;
        // revocations still arrive through the feed.
        this.deps.logger.warn({ err }, 'session store unavailable; serving the cached session');
        stale.loadedAt = this.deps.clock.now() - this.ttlMs + STALE_RETRY_MS;
        return stale;
      }
      throw err instanceof GatehouseError ? err : new StoreUnavailableError('sessions', err);
    }
    if (!session || !user || session.tokenHash !== tokenHash) {
      this.cache.delete(tokenHash);
      return null;
    }
    const entry = new SessionEntry(tokenHash, session, user, this.deps.clock.now());
    if (epoch === this.epoch) {
      this.cache.set(tokenHash, entry);
      this.bySid.set(entry.sid, tokenHash);
      let set = this.byUser.get(entry.user.id);
      if (set === undefined) this.byUser.set(entry.user.id, (set = new Set()));
      set.add(tokenHash);
    }
    return entry;
  }

  /** Throttled sliding expiry: updates the cached copy now, writes in the background. */
  private touch(s: SessionRecord, now: number): void {
    const ttlSec = s.persistent ? this.deps.config.session.slidingTtlSec : this.deps.config.session.browserSessionTtlSec;
    const expiresAt = Math.min(now + ttlSec * 1000, s.absoluteExpiresAt);
    s.lastSeenAt = now;
    s.expiresAt = expiresAt;
    try {
      this.deps.stores.sessions.touch(s.id, now, expiresAt).catch(this.onTouchError);
    } catch (err) {
      this.onTouchError(err);
    }
  }

  private readonly onTouchError = (err: unknown): void => {
    this.deps.logger.warn({ err }, 'could not record session activity; will retry on a later request');
  };

  private onRevocation(event: RevocationEvent): void {
    // Token revocations concern the bearer authenticators, not sessions.
    if (event.type !== 'session' && event.type !== 'user') return;
    this.epoch++;
    if (event.type === 'session') {
      // The RevocationSet has recorded the sid already; drop the cached copy.
      const tokenHash = this.bySid.get(event.sid);
      if (tokenHash !== undefined) this.cache.delete(tokenHash);
      this.onDrop(event.sid);
    } else {
      const set = this.byUser.get(event.userId);
      if (set !== undefined) for (const tokenHash of [...set]) this.cache.delete(tokenHash);
    }
  }

  private unindex(entry: SessionEntry, tokenHash: string): void {
    if (this.bySid.get(entry.sid) === tokenHash) this.bySid.delete(entry.sid);
    const set = this.byUser.get(entry.user.id);
    if (set !== undefined) {
      set.delete(tokenHash);
      if (set.size === 0) this.byUser.delete(entry.user.id);
    }
    this.onDrop(entry.sid);
  }
}
