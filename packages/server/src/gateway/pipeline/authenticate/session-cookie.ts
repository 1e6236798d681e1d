import type { Deps } from '../../../context.js';
import { isDisabled, type SessionRecord, type UserSummary } from '../../../stores/types.js';
import { DUPLICATE } from '../../exchange.js';
import type { RevocationSet } from '../../revocation-set.js';
import { hashOnConnection } from './connection-hash.js';
import { CredentialCache, type CredentialAdapter, type CredentialEntry, type HotEnvelope } from './credential-cache.js';
import { InvalidSessionCookieError } from './errors.js';
import type { AuthInput, Authenticator, DegradedReporter, IdentityUser } from './types.js';

/** Longer than any cookie we mint (43 chars); bounds the hashing work on garbage. */
const MAX_COOKIE_LENGTH = 256;

/** What the session store answers for a cookie (`sessions.getWithUser`). */
interface SessionWithUser {
  session: SessionRecord;
  user: UserSummary;
}

/** The hot copy of a session in the shared HotCache (key `s:` + the SHA-256 of the cookie, as in the store). */
interface HotSession extends HotEnvelope {
  s: SessionRecord;
  u: IdentityUser;
}

function isHotSession(h: HotEnvelope & Partial<HotSession>, tokenHash: string): h is HotSession {
  const s = h.s as Partial<SessionRecord> | undefined;
  const u = h.u as Partial<IdentityUser> | undefined;
  return (
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
    (s.amr === undefined || (Array.isArray(s.amr) && s.amr.every((m) => typeof m === 'string'))) &&
    (s.authTime === undefined || typeof s.authTime === 'number') &&
    typeof u === 'object' &&
    u !== null &&
    u.id === s.userId &&
    typeof u.username === 'string' &&
    Array.isArray(u.roles) &&
    u.roles.every((r) => typeof r === 'string')
  );
}

/** A cached session: the Identity of every request that carries its cookie (no per-request object). */
export class SessionEntry implements CredentialEntry {
  readonly auth = 'session' as const;
  readonly scopes = undefined;
  readonly user: IdentityUser;
  readonly sid: string;
  readonly did: string;
  readonly csrfToken: string;
  readonly cacheKey: string;
  readonly stamp: string;
  readonly amr: readonly string[];
  /** Epoch seconds. */
  readonly authTime: number;
  /** The user is disabled (issue 18): refused while cached; never written to the hot copy. */
  readonly disabled: boolean;

  constructor(
    readonly tokenHash: string,
    /** Our own copy; touch() updates lastSeenAt/expiresAt in place. */
    readonly session: SessionRecord,
    user: IdentityUser & { disabledAt?: number | null },
    /** When read from the store (clock ms); the entry is fresh for session.cacheTtlMs. */
    public loadedAt: number,
  ) {
    this.disabled = isDisabled(user);
    // Only what a passport needs: never keep the password hash in the cache.
    this.user = { id: user.id, username: user.username, roles: [...user.roles] };
    this.sid = session.id;
    this.did = session.deviceId;
    this.csrfToken = session.csrfToken;
    this.cacheKey = session.id;
    // A hot copy written before migration 0010's code has neither: a password at creation, as the store says.
    this.amr = session.amr ?? ['pwd'];
    this.authTime = Math.floor((session.authTime ?? session.createdAt) / 1000);
    this.stamp = `${user.username}\n${user.roles.join(',')}\n${this.amr.join(' ')}\n${this.authTime}`;
  }
}

/**
 * The session-cookie kind of credential for the CredentialCache: one `sessions.getWithUser`
 * read, the hot copy `{v, w, s, u}`, refused once expired (sliding or absolute), ended (its sid)
 * or started before a sign-out-all taken while the store was away; the sliding expiry is the
 * touch. Ended by `session` events; `user` events re-read (or, `sessions: true`, end) them.
 */
export const sessionCredentials: CredentialAdapter<SessionEntry, SessionWithUser> = {
  noun: 'session',
  hotPrefix: 's:',
  store: 'sessions',
  degraded: { fromMemory: 'session_from_memory', fromHotCopy: 'session_from_hot_copy', unavailable: 'session_unavailable' },
  refuse: () => new InvalidSessionCookieError(),
  read: (deps, tokenHash) => deps.stores.sessions.getWithUser(tokenHash),
  fromStore: (tokenHash, found, now) => (found.session.tokenHash === tokenHash ? new SessionEntry(tokenHash, found.session, found.user, now) : null),
  toHot: (found, entry, w): HotSession => ({ v: 1, w, s: found.session, u: entry.user }),
  // A disabled user's session is never shared (0: not written), so no hot copy outlives an enable.
  hotTtlMs: (entry, now) => (entry.disabled ? 0 : Math.min(entry.session.expiresAt, entry.session.absoluteExpiresAt) - now),
  fromHot: (value, tokenHash, loadedAt) => (isHotSession(value, tokenHash) ? new SessionEntry(tokenHash, { ...value.s }, value.u, loadedAt) : null),
  idOf: (entry) => entry.sid,
  match(event) {
    // Token revocations concern the bearer authenticators, not sessions.
    if (event.type === 'session') return { kind: 'credential', id: event.sid, userId: event.userId };
    if (event.type === 'user') return { kind: 'user', userId: event.userId, ended: event.sessions === true };
    // A re-authentication on the session (step-up): its amr and auth_time changed, re-read it.
    if (event.type === 'session_auth') return { kind: 'changed', id: event.sid };
    return null;
  },
  refusal(entry, now, revocations) {
    const s = entry.session;
    if (s.expiresAt <= now || s.absoluteExpiresAt <= now) return 'expired';
    if (revocations.sessionEnded(s.id, now, s.userId) || revocations.sessionStartedBeforeNotBefore(s.userId, s.createdAt, now)) return 'ended';
    // Disabling deletes the user's sessions; this refuses one a racing sign-in made (issue 18).
    if (entry.disabled) return 'disabled';
    return undefined;
  },
  lastTouch: (entry) => entry.session.lastSeenAt,
  /** Sliding expiry: the cached copy moves now, the store in the background. */
  touch(deps, entry, now) {
    const s = entry.session;
    const ttlSec = s.persistent ? deps.config.session.slidingTtlSec : deps.config.session.browserSessionTtlSec;
    const expiresAt = Math.min(now + ttlSec * 1000, s.absoluteExpiresAt);
    s.lastSeenAt = now;
    s.expiresAt = expiresAt;
    return deps.stores.sessions.touch(s.id, now, expiresAt);
  },
};

/**
 * The session cookie: `hashSecret(cookie)` looked up in a CredentialCache of SessionEntry
 * (memory, then the shared hot copy, then the store; see credential-cache.ts). While the store
 * is away, a cached or hot-copied session is served (DESIGN §4: "PostgreSQL down: sessions in a
 * hot copy work"), but the hot copy only once the revocation set is warm, which refuses every
 * session ended within the hot copy's lifetime (its TTL never exceeds the set's memory), so
 * correctness never depends on Redis deletes. The revocation feed drops entries (and, through
 * `onDrop`, cached passports) at once; ended sids are remembered in the gateway's shared
 * RevocationSet and checked on every request, so a store read that raced a sign-out cannot
 * bring a session back. Sliding expiry is written at most once per touchIntervalSec,
 * fire-and-forget.
 */
export class SessionCookieAuthenticator implements Authenticator {
  readonly name = 'session-cookie';
  private readonly cache: CredentialCache<SessionEntry, SessionWithUser>;

  constructor(
    deps: Deps,
    revocations: RevocationSet,
    /** Called with the sid whenever a session leaves the cache (revoked, evicted, expired). */
    onDrop: (sid: string) => void,
    /** Told of every decision taken in a degraded mode (metrics). */
    degraded: DegradedReporter = () => undefined,
  ) {
    this.cache = new CredentialCache(deps, revocations, sessionCredentials, degraded, onDrop);
  }

  authenticate(input: AuthInput): SessionEntry | Promise<SessionEntry> | null {
    const cookie = input.sessionCookie;
    if (cookie === undefined) return null;
    if (cookie === DUPLICATE || cookie === '' || cookie.length > MAX_COOKIE_LENGTH) throw new InvalidSessionCookieError();
    return this.cache.get(hashOnConnection(input.req?.socket, cookie), cookie);
  }

  close(): void {
    this.cache.close();
  }
}
