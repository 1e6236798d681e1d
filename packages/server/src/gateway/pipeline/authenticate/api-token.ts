import { LRUCache } from 'lru-cache';
import { resolveApiToken, type ResolvedApiToken } from '../../../credentials/api-token.js';
import type { Deps } from '../../../context.js';
import { hashSecret } from '../../../crypto/secrets.js';
import { API_TOKEN_LENGTH, API_TOKEN_PREFIX, isWellFormedApiToken } from '../../../credentials/token-formats.js';
import { GatehouseError, StoreUnavailableError } from '../../../errors/index.js';
import { logStoreFailure } from '../../../stores/health/outage-log.js';
import type { ApiTokenRecord, HotCache, RevocationEvent } from '../../../stores/types.js';
import type { RevocationSet } from '../../revocation-set.js';
import { invalidToken } from './errors.js';
import { UNKNOWN_CREDENTIALS_MAX, type DegradedReporter, type Identity, type IdentityUser } from './types.js';

/** While the store is away, retry it at most this often per cached token (hot copy served meanwhile). */
const STALE_RETRY_MS = 1_000;
/** Key of an API token's hot copy (Redis): the SHA-256 of the token, as in the store. */
const hotKey = (tokenHash: string): string => `k:${tokenHash}`;

/** What an ApiTokenEntry is built from: a resolved token, or its hot copy. */
interface ApiTokenFacts {
  token: Pick<ApiTokenRecord, 'id' | 'scopes' | 'expiresAt' | 'lastUsedAt'>;
  user: IdentityUser;
}

/** The hot copy of a resolved API token in the shared HotCache. */
interface HotApiToken {
  v: 1;
  /** When an instance read it from the durable store (epoch ms). */
  w: number;
  /** The token hash it belongs to (checked on read). */
  h: string;
  t: ApiTokenFacts['token'];
  u: IdentityUser;
}

function isHotApiToken(v: unknown, tokenHash: string): v is HotApiToken {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Partial<HotApiToken>;
  const t = h.t as Partial<ApiTokenFacts['token']> | undefined;
  const u = h.u as Partial<IdentityUser> | undefined;
  return (
    h.v === 1 &&
    typeof h.w === 'number' &&
    h.h === tokenHash &&
    typeof t === 'object' &&
    t !== null &&
    typeof t.id === 'string' &&
    Array.isArray(t.scopes) &&
    t.scopes.every((x) => typeof x === 'string') &&
    (t.expiresAt === null || typeof t.expiresAt === 'number') &&
    (t.lastUsedAt === null || typeof t.lastUsedAt === 'number') &&
    typeof u === 'object' &&
    u !== null &&
    typeof u.id === 'string' &&
    typeof u.username === 'string' &&
    Array.isArray(u.roles) &&
    u.roles.every((r) => typeof r === 'string')
  );
}

/** A cached API token: the Identity of every request that carries it. */
export class ApiTokenEntry implements Identity {
  readonly auth = 'api_token' as const;
  readonly user: IdentityUser;
  readonly sid = undefined;
  readonly did = undefined;
  readonly scopes: ReadonlySet<string>;
  readonly csrfToken = undefined;
  readonly cacheKey: string;
  readonly stamp: string;
  readonly tokenId: string;
  readonly expiresAt: number | null;
  /** Last `touchLastUsed` sent (or the stored lastUsedAt), clock ms. */
  lastTouch: number;

  constructor(
    readonly tokenHash: string,
    resolved: ApiTokenFacts,
    /** When read from the store (clock ms); fresh for session.cacheTtlMs. */
    public loadedAt: number,
  ) {
    const { token, user } = resolved;
    // Only what a passport needs: never keep the password hash in the cache.
    this.user = { id: user.id, username: user.username, roles: [...user.roles] };
    this.scopes = new Set(token.scopes);
    this.tokenId = token.id;
    this.expiresAt = token.expiresAt;
    this.lastTouch = token.lastUsedAt ?? Number.NEGATIVE_INFINITY;
    this.cacheKey = `api\n${token.id}`;
    this.stamp = `${user.id}\n${user.username}\n${user.roles.join(',')}\n${token.scopes.join(' ')}`;
  }
}

/**
 * Personal API tokens (`gh_…`): the cache (keyed by `hashSecret(token)`) is looked at first; on
 * a miss the format and checksum are checked before any store call (a mistyped token costs no
 * lookup), then `resolveApiToken`. Entries are trusted for `session.cacheTtlMs` and dropped at
 * once on an `api_token` revocation; the last-used time is written at most once per
 * `session.touchIntervalSec`, fire-and-forget.
 */
export class ApiTokenVerifier {
  private readonly cache: LRUCache<string, ApiTokenEntry>;
  /**
   * Hashes of well-formed tokens the store did not know (or knew as expired, or without a
   * user): one store read per such token, not one per request. Like an unknown session secret,
   * an unknown token can never become valid later (tokens are made, then shown).
   */
  private readonly unknown = new LRUCache<string, true>({ max: UNKNOWN_CREDENTIALS_MAX });
  private readonly byId = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<ApiTokenEntry | null>>();
  /** Bumped by every relevant revocation: a read that straddles one is used once, not cached. */
  private epoch = 0;
  private readonly ttlMs: number;
  private readonly touchMs: number;
  private readonly unsubscribe: () => void;
  /** The shared hot copy; undefined when there is none (embedded default: nothing changes). */
  private readonly hot: HotCache | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly revocations: RevocationSet,
    /** Told of every decision taken in a degraded mode (metrics). */
    private readonly degraded: DegradedReporter = () => undefined,
  ) {
    this.hot = deps.hotCache !== undefined && deps.hotCache.kind !== 'none' ? deps.hotCache : undefined;
    const s = deps.config.session;
    this.ttlMs = s.cacheTtlMs;
    this.touchMs = s.touchIntervalSec * 1000;
    this.cache = new LRUCache<string, ApiTokenEntry>({
      max: Math.max(1, s.cacheMax),
      dispose: (entry, key, reason) => {
        if (reason !== 'set') this.unindex(entry, key);
      },
    });
    this.unsubscribe = revocations.onEvent((event) => this.onRevocation(event));
  }

  /** Whether the token has the API token prefix: then it is this verifier's to decide. */
  static owns(token: string): boolean {
    return token.startsWith(API_TOKEN_PREFIX);
  }

  verify(token: string): ApiTokenEntry | Promise<ApiTokenEntry> {
    if (token.length !== API_TOKEN_LENGTH) throw invalidToken();
    const tokenHash = hashSecret(token);
    const now = this.deps.clock.now();
    const entry = this.cache.get(tokenHash);
    // Hot path: no store call, no allocation (only well-formed tokens are ever cached).
    if (entry !== undefined && now - entry.loadedAt < this.ttlMs) return this.accept(entry, now);
    if (!isWellFormedApiToken(token)) throw invalidToken('The API token is mistyped (bad checksum).');
    if (entry === undefined && this.unknown.has(tokenHash)) throw invalidToken();
    return this.load(token, tokenHash, entry);
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
    this.unknown.clear();
  }

  private accept(entry: ApiTokenEntry, now: number): ApiTokenEntry {
    if ((entry.expiresAt !== null && entry.expiresAt <= now) || this.revocations.apiTokenRevoked(entry.tokenId, now, entry.user.id)) {
      this.cache.delete(entry.tokenHash);
      this.hot?.delete(hotKey(entry.tokenHash));
      // Expired or deleted: never valid again, refused from memory (also while the store is away).
      this.unknown.set(entry.tokenHash, true);
      throw invalidToken();
    }
    if (now - entry.lastTouch >= this.touchMs) this.touch(entry, now);
    return entry;
  }

  private async load(token: string, tokenHash: string, stale: ApiTokenEntry | undefined): Promise<ApiTokenEntry> {
    let pending = this.inflight.get(tokenHash);
    if (pending === undefined) {
      pending = this.read(token, tokenHash, stale);
      this.inflight.set(tokenHash, pending);
      const done = () => this.inflight.delete(tokenHash);
      pending.then(done, done);
    }
    const entry = await pending;
    if (entry === null) throw invalidToken();
    return this.accept(entry, this.deps.clock.now());
  }

  private async read(token: string, tokenHash: string, stale: ApiTokenEntry | undefined): Promise<ApiTokenEntry | null> {
    const epoch = this.epoch;
    // The shared hot copy (bearer requests only get here once the revocation set is warm).
    let hotEntry: ApiTokenEntry | undefined;
    if (this.hot !== undefined && this.revocations.ready) {
      const value = await this.hot.get(hotKey(tokenHash));
      if (isHotApiToken(value, tokenHash)) {
        const now = this.deps.clock.now();
        hotEntry = new ApiTokenEntry(tokenHash, { token: value.t, user: value.u }, Math.min(value.w, now));
        if (stale !== undefined) hotEntry.lastTouch = Math.max(hotEntry.lastTouch, stale.lastTouch);
        if (now - hotEntry.loadedAt < this.ttlMs) {
          if (epoch === this.epoch) this.remember(hotEntry);
          return hotEntry;
        }
      }
    }
    let resolved: ResolvedApiToken | null;
    try {
      resolved = await resolveApiToken(this.deps, token);
    } catch (err) {
      const now = this.deps.clock.now();
      const fallback = stale !== undefined && this.cache.peek(tokenHash) === stale ? stale : hotEntry;
      if (fallback !== undefined) {
        // DESIGN §4: API tokens keep working from the hot copy while the store is away;
        // deletions still arrive through the feed.
        logStoreFailure(this.deps.logger, err, 'API token store unavailable; serving the cached token');
        this.degraded('api_token_from_hot_copy');
        fallback.loadedAt = now - this.ttlMs + STALE_RETRY_MS;
        if (fallback === hotEntry && epoch === this.epoch) this.remember(hotEntry);
        return fallback;
      }
      this.degraded('api_token_unavailable');
      throw err instanceof GatehouseError ? err : new StoreUnavailableError('API tokens', err);
    }
    if (resolved === null || resolved.token.tokenHash !== tokenHash) {
      this.cache.delete(tokenHash);
      if (hotEntry !== undefined) this.hot?.delete(hotKey(tokenHash));
      this.unknown.set(tokenHash, true);
      return null;
    }
    const previous = this.cache.peek(tokenHash);
    const now = this.deps.clock.now();
    const entry = new ApiTokenEntry(tokenHash, resolved, now);
    // Keep the throttle across re-reads (the store's lastUsedAt lags behind our writes).
    if (previous !== undefined) entry.lastTouch = Math.max(entry.lastTouch, previous.lastTouch);
    if (epoch === this.epoch) {
      this.remember(entry);
      if (this.hot !== undefined) {
        const t = resolved.token;
        const hot: HotApiToken = { v: 1, w: now, h: tokenHash, t: { id: t.id, scopes: t.scopes, expiresAt: t.expiresAt, lastUsedAt: t.lastUsedAt }, u: entry.user };
        this.hot.set(hotKey(tokenHash), hot, t.expiresAt === null ? Number.POSITIVE_INFINITY : t.expiresAt - now);
      }
    }
    return entry;
  }

  private remember(entry: ApiTokenEntry): void {
    const tokenHash = entry.tokenHash;
    this.cache.set(tokenHash, entry);
    this.byId.set(entry.tokenId, tokenHash);
    let set = this.byUser.get(entry.user.id);
    if (set === undefined) this.byUser.set(entry.user.id, (set = new Set()));
    set.add(tokenHash);
  }

  private touch(entry: ApiTokenEntry, now: number): void {
    entry.lastTouch = now;
    try {
      this.deps.stores.apiTokens.touchLastUsed(entry.tokenId, now).catch(this.onTouchError);
    } catch (err) {
      this.onTouchError(err);
    }
  }

  private readonly onTouchError = (err: unknown): void => {
    logStoreFailure(this.deps.logger, err, 'could not record API token use; will retry on a later request');
  };

  private onRevocation(event: RevocationEvent): void {
    if (event.type === 'api_token') {
      this.epoch++;
      // The cached copy stays, for the next request to be refused by accept() (401 from
      // memory, also while the store is away); the shared copy goes.
      // Not when a pending deletion names another user than the token's (see session-cookie.ts).
      const tokenHash = this.byId.get(event.tokenId);
      if (tokenHash !== undefined && (event.userId === undefined || this.cache.peek(tokenHash)?.user.id === event.userId)) {
        this.hot?.delete(hotKey(tokenHash));
      }
    } else if (event.type === 'user') {
      // Re-read the user's tokens (roles may have changed with the event that caused it).
      this.epoch++;
      const set = this.byUser.get(event.userId);
      if (set !== undefined) {
        for (const tokenHash of [...set]) {
          this.cache.delete(tokenHash);
          this.hot?.delete(hotKey(tokenHash));
        }
      }
    }
  }

  private unindex(entry: ApiTokenEntry, tokenHash: string): void {
    if (this.byId.get(entry.tokenId) === tokenHash) this.byId.delete(entry.tokenId);
    const set = this.byUser.get(entry.user.id);
    if (set !== undefined) {
      set.delete(tokenHash);
      if (set.size === 0) this.byUser.delete(entry.user.id);
    }
  }
}
