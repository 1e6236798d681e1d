import { LRUCache } from 'lru-cache';
import type { Deps } from '../../../context.js';
import { hashSecret } from '../../../crypto/secrets.js';
import { GatehouseError, StoreUnavailableError } from '../../../errors/index.js';
import { logStoreFailure } from '../../../stores/health/outage-log.js';
import type { HotCache, RevocationEvent, SessionRecord, UserRecord } from '../../../stores/types.js';
import { DUPLICATE } from '../../exchange.js';
import type { RevocationSet } from '../../revocation-set.js';
import { InvalidSessionCookieError } from './errors.js';
import { UNKNOWN_CREDENTIALS_MAX, type AuthInput, type Authenticator, type DegradedReporter, type Identity, type IdentityUser } from './types.js';

/** While the store is away, retry it at most this often per cached session (hot copy served meanwhile). */
const STALE_RETRY_MS = 1_000;
/** Longer than any cookie we mint (43 chars); bounds the hashing work on garbage. */
const MAX_COOKIE_LENGTH = 256;
/** Key of a session's hot copy (Redis): the SHA-256 of the cookie, as in the store. */
const hotKey = (tokenHash: string): string => `s:${tokenHash}`;

/** The hot copy of a session in the shared HotCache: what a SessionEntry needs, and when it was read from the store. */
interface HotSession {
  v: 1;
  /** When an instance read it from the durable store (epoch ms). */
  w: number;
  s: SessionRecord;
  u: IdentityUser;
}

function isHotSession(v: unknown, tokenHash: string): v is HotSession {
  if (typeof v !== 'object' || v === null) return false;
  const h = v as Partial<HotSession>;
  const s = h.s as Partial<SessionRecord> | undefined;
  const u = h.u as Partial<IdentityUser> | undefined;
  return (
    h.v === 1 &&
    typeof h.w === 'number' &&
    typeof s === 'object' &&
    s !== null &&
    s.tokenHash === tokenHash &&
    typeof s.id === 'string' &&
    typeof s.userId === 'string' &&
    typeof s.deviceId === 'string' &&
    typeof s.csrfToken === 'string' &&
    typeof s.persistent === 'boolean' &&
    typeof s.createdAt === 'number' &&
    typeof s.lastSeenAt === 'number' &&
    typeof s.expiresAt === 'number' &&
    typeof s.absoluteExpiresAt === 'number' &&
    typeof u === 'object' &&
    u !== null &&
    u.id === s.userId &&
    typeof u.username === 'string' &&
    Array.isArray(u.roles) &&
    u.roles.every((r) => typeof r === 'string')
  );
}

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
    user: IdentityUser,
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
 * shared hot copy (`deps.hotCache`: Redis in scale-out, none embedded) in front of the stores.
 * A memory hit makes no network call. On a miss (or a stale entry) the hot copy is asked first:
 * an entry read from the store less than `session.cacheTtlMs` ago by any instance is used as
 * is; otherwise the store is read and the hot copy rewritten. While the store is away, an older
 * hot copy is served (DESIGN §4: "PostgreSQL down: sessions in a hot copy work"), but only once
 * the revocation set is warm, which refuses every session ended within the hot copy's lifetime
 * (its TTL never exceeds the set's memory), so correctness never depends on Redis deletes.
 *  The revocation feed drops entries (and, through `onDrop`, cached passports) at once;
 * ended sids are remembered in the gateway's shared RevocationSet and checked on every request,
 * so a store read that raced a sign-out cannot bring a session back. Sliding expiry is written at most once per
 * touchIntervalSec, fire-and-forget.
 */
export class SessionCookieAuthenticator implements Authenticator {
  readonly name = 'session-cookie';
  private readonly cache: LRUCache<string, SessionEntry>;
  /** Hashes of cookies the store did not know (see UNKNOWN_CREDENTIALS_MAX): refused without a store read. */
  private readonly unknown = new LRUCache<string, true>({ max: UNKNOWN_CREDENTIALS_MAX });
  private readonly bySid = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<SessionEntry | null>>();
  /** Bumped by every revocation event: a read that straddles one is used once, not cached. */
  private epoch = 0;
  private readonly unsubscribe: () => void;
  private readonly ttlMs: number;
  private readonly touchMs: number;
  /** The shared hot copy; undefined when there is none (embedded default: nothing changes). */
  private readonly hot: HotCache | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly revocations: RevocationSet,
    /** Called with the sid whenever a session leaves the cache (revoked, evicted, expired). */
    private readonly onDrop: (sid: string) => void,
    /** Told of every decision taken in a degraded mode (metrics). */
    private readonly degraded: DegradedReporter = () => undefined,
  ) {
    this.hot = deps.hotCache !== undefined && deps.hotCache.kind !== 'none' ? deps.hotCache : undefined;
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
    if (entry === undefined && this.unknown.has(tokenHash)) throw new InvalidSessionCookieError();
    return this.load(tokenHash, entry);
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
    this.unknown.clear();
  }

  private accept(entry: SessionEntry, now: number): SessionEntry {
    const s = entry.session;
    if (s.expiresAt <= now || s.absoluteExpiresAt <= now) {
      this.cache.delete(entry.tokenHash);
      throw new InvalidSessionCookieError();
    }
    if (this.revocations.sessionEnded(s.id, now, s.userId) || this.revocations.sessionStartedBeforeNotBefore(s.userId, s.createdAt, now)) {
      this.cache.delete(entry.tokenHash);
      this.hot?.delete(hotKey(entry.tokenHash));
      // An ended session never comes back: refused from memory from now on, even while the
      // store is away (where a re-read would answer 503, not 401).
      this.unknown.set(entry.tokenHash, true);
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
    // The shared hot copy, only once the revocation set is warm (it is what refuses an ended
    // session whose hot copy escaped deletion).
    let hotEntry: SessionEntry | undefined;
    if (this.hot !== undefined && this.revocations.ready) {
      const value = await this.hot.get(hotKey(tokenHash));
      if (isHotSession(value, tokenHash)) {
        const now = this.deps.clock.now();
        hotEntry = new SessionEntry(tokenHash, { ...value.s }, value.u, Math.min(value.w, now));
        if (now - hotEntry.loadedAt < this.ttlMs) {
          // Read from the store by some instance moments ago: as good as our own read.
          if (epoch === this.epoch) this.remember(hotEntry);
          return hotEntry;
        }
      }
    }
    let session: SessionRecord | null;
    let user: UserRecord | null = null;
    try {
      session = await this.deps.stores.sessions.findByTokenHash(tokenHash);
      if (session) user = await this.deps.stores.users.findById(session.userId);
    } catch (err) {
      const now = this.deps.clock.now();
      if (stale !== undefined && this.cache.peek(tokenHash) === stale) {
        // DESIGN §4: a session in the hot copy keeps working while its store is away;
        // revocations still arrive through the feed.
        logStoreFailure(this.deps.logger, err, 'session store unavailable; serving the cached session');
        this.degraded('session_from_memory');
        stale.loadedAt = now - this.ttlMs + STALE_RETRY_MS;
        return stale;
      }
      if (hotEntry !== undefined) {
        logStoreFailure(this.deps.logger, err, 'session store unavailable; serving the session from the shared hot copy');
        this.degraded('session_from_hot_copy');
        // Kept in memory so the next second's requests neither wait for the store nor ask Redis.
        hotEntry.loadedAt = now - this.ttlMs + STALE_RETRY_MS;
        if (epoch === this.epoch) this.remember(hotEntry);
        return hotEntry;
      }
      this.degraded('session_unavailable');
      throw err instanceof GatehouseError ? err : new StoreUnavailableError('sessions', err);
    }
    if (!session || !user || session.tokenHash !== tokenHash) {
      this.cache.delete(tokenHash);
      if (hotEntry !== undefined) this.hot?.delete(hotKey(tokenHash));
      this.unknown.set(tokenHash, true);
      return null;
    }
    const now = this.deps.clock.now();
    const entry = new SessionEntry(tokenHash, session, user, now);
    if (epoch === this.epoch) {
      this.remember(entry);
      if (this.hot !== undefined) {
        const hot: HotSession = { v: 1, w: now, s: session, u: entry.user };
        this.hot.set(hotKey(tokenHash), hot, Math.min(session.expiresAt, session.absoluteExpiresAt) - now);
      }
    }
    return entry;
  }

  private remember(entry: SessionEntry): void {
    const tokenHash = entry.tokenHash;
    this.cache.set(tokenHash, entry);
    this.bySid.set(entry.sid, tokenHash);
    let set = this.byUser.get(entry.user.id);
    if (set === undefined) this.byUser.set(entry.user.id, (set = new Set()));
    set.add(tokenHash);
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
    logStoreFailure(this.deps.logger, err, 'could not record session activity; will retry on a later request');
  };

  private onRevocation(event: RevocationEvent): void {
    // Token revocations concern the bearer authenticators, not sessions.
    if (event.type !== 'session' && event.type !== 'user') return;
    this.epoch++;
    if (event.type === 'session') {
      // The RevocationSet has recorded the sid already. The cached copy stays, for the next
      // request to be refused by accept() (401 from memory, also while the store is away).
      const tokenHash = this.bySid.get(event.sid);
      // Correctness does not depend on it (the revocation set refuses the sid), but the shared
      // copy of an ended session should not linger. Not when a pending revocation names another
      // user than the session's (someone naming an id they guessed while the store was away):
      // other gateways may need that copy to serve its owner until the store is back.
      if (tokenHash !== undefined && (event.userId === undefined || this.cache.peek(tokenHash)?.user.id === event.userId)) {
        this.hot?.delete(hotKey(tokenHash));
      }
      this.onDrop(event.sid);
    } else {
      const set = this.byUser.get(event.userId);
      if (set !== undefined) {
        for (const tokenHash of [...set]) {
          // Sessions ended by this event stay cached to be refused (see above); the rest are
          // re-read (roles may have changed with it).
          if (event.sessions !== true) this.cache.delete(tokenHash);
          this.hot?.delete(hotKey(tokenHash));
        }
      }
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
