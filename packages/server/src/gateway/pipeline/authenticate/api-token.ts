import type { Deps } from '../../../context.js';
import { API_TOKEN_LENGTH, API_TOKEN_PREFIX, isWellFormedApiToken } from '../../../credentials/token-formats.js';
import { isDisabled, type ApiTokenRecord, type UserSummary } from '../../../stores/types.js';
import type { RevocationSet } from '../../revocation-set.js';
import { hashOnConnection } from './connection-hash.js';
import { CredentialCache, type CredentialAdapter, type CredentialEntry, type HotEnvelope } from './credential-cache.js';
import { invalidToken } from './errors.js';
import type { DegradedReporter, IdentityUser } from './types.js';

/** What the API token store answers for a token (`apiTokens.getWithUser`). */
interface ApiTokenWithUser {
  token: ApiTokenRecord;
  user: UserSummary;
}

/** What an ApiTokenEntry is built from: a resolved token, or its hot copy. */
interface ApiTokenFacts {
  token: Pick<ApiTokenRecord, 'id' | 'scopes' | 'expiresAt' | 'lastUsedAt'>;
  /** `disabledAt`: from the store only (a hot copy is never written for a disabled user). */
  user: IdentityUser & { disabledAt?: number | null };
}

/** The hot copy of a resolved API token in the shared HotCache (key `k:` + the SHA-256 of the token, as in the store). */
interface HotApiToken extends HotEnvelope {
  /** The token hash it belongs to (checked on read). */
  h: string;
  t: ApiTokenFacts['token'];
  u: IdentityUser;
}

function isHotApiToken(h: HotEnvelope & Partial<HotApiToken>, tokenHash: string): h is HotApiToken {
  const t = h.t as Partial<ApiTokenFacts['token']> | undefined;
  const u = h.u as Partial<IdentityUser> | undefined;
  return (
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
export class ApiTokenEntry implements CredentialEntry {
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
  /** The user is disabled (issue 18): refused while cached (kept in the store: it works again once enabled). */
  readonly disabled: boolean;

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
    this.disabled = isDisabled(user);
    this.cacheKey = `api\n${token.id}`;
    this.stamp = `${user.id}\n${user.username}\n${user.roles.join(',')}\n${token.scopes.join(' ')}`;
  }
}

/**
 * The API-token kind of credential for the CredentialCache: one `apiTokens.getWithUser` read
 * (an expired token counts as unknown), the hot copy `{v, w, h, t, u}`, refused once expired or
 * deleted (its id, `api_token` events); the touch is the last-used time, whose throttle survives
 * re-reads (the store's lastUsedAt lags behind our writes). `user` events re-read them.
 */
export const apiTokenCredentials: CredentialAdapter<ApiTokenEntry, ApiTokenWithUser> = {
  noun: 'API token',
  hotPrefix: 'k:',
  store: 'API tokens',
  // One reason for both: served from this gateway's memory or from the shared hot copy.
  degraded: { fromMemory: 'api_token_from_hot_copy', fromHotCopy: 'api_token_from_hot_copy', unavailable: 'api_token_unavailable' },
  refuse: () => invalidToken(),
  /** Format and checksum before any lookup: a mistyped token costs none (only well-formed tokens are ever cached). */
  checkBeforeRead(token) {
    if (!isWellFormedApiToken(token)) throw invalidToken('The API token is mistyped (bad checksum).');
  },
  read: (deps, tokenHash) => deps.stores.apiTokens.getWithUser(tokenHash),
  fromStore(tokenHash, found, now) {
    const t = found.token;
    if (t.tokenHash !== tokenHash || (t.expiresAt !== null && t.expiresAt <= now)) return null;
    return new ApiTokenEntry(tokenHash, found, now);
  },
  toHot(found, entry, w): HotApiToken {
    const t = found.token;
    return { v: 1, w, h: entry.tokenHash, t: { id: t.id, scopes: t.scopes, expiresAt: t.expiresAt, lastUsedAt: t.lastUsedAt }, u: entry.user };
  },
  // A disabled user's token is never shared (0: not written), so no hot copy outlives an enable.
  hotTtlMs: (entry, now) => (entry.disabled ? 0 : entry.expiresAt === null ? Number.POSITIVE_INFINITY : entry.expiresAt - now),
  fromHot: (value, tokenHash, loadedAt) => (isHotApiToken(value, tokenHash) ? new ApiTokenEntry(tokenHash, { token: value.t, user: value.u }, loadedAt) : null),
  carry(from, to) {
    to.lastTouch = Math.max(to.lastTouch, from.lastTouch);
  },
  idOf: (entry) => entry.tokenId,
  match(event) {
    if (event.type === 'api_token') return { kind: 'credential', id: event.tokenId, userId: event.userId };
    // Re-read the user's tokens (roles may have changed with the event that caused it).
    if (event.type === 'user') return { kind: 'user', userId: event.userId, ended: false };
    return null;
  },
  // Expired or deleted: never valid again. The user disabled: refused until enabled (issue 18).
  refusal: (entry, now, revocations) =>
    (entry.expiresAt !== null && entry.expiresAt <= now) || revocations.apiTokenRevoked(entry.tokenId, now, entry.user.id) ? 'ended' : entry.disabled ? 'disabled' : undefined,
  lastTouch: (entry) => entry.lastTouch,
  touch(deps, entry, now) {
    entry.lastTouch = now;
    return deps.stores.apiTokens.touchLastUsed(entry.tokenId, now);
  },
};

/**
 * Personal API tokens (`gh_…`): a CredentialCache of ApiTokenEntry keyed by `hashSecret(token)`
 * (memory, then the shared hot copy, then the store; see credential-cache.ts). On a miss the
 * format and checksum are checked before any store call (a mistyped token costs no lookup).
 * Entries are trusted for `session.cacheTtlMs` and dropped at once on an `api_token`
 * revocation; the last-used time is written at most once per `session.touchIntervalSec`,
 * fire-and-forget.
 */
export class ApiTokenVerifier {
  private readonly cache: CredentialCache<ApiTokenEntry, ApiTokenWithUser>;

  constructor(
    deps: Deps,
    revocations: RevocationSet,
    /** Told of every decision taken in a degraded mode (metrics). */
    degraded: DegradedReporter = () => undefined,
  ) {
    this.cache = new CredentialCache(deps, revocations, apiTokenCredentials, degraded);
  }

  /** Whether the token has the API token prefix: then it is this verifier's to decide. */
  static owns(token: string): boolean {
    return token.startsWith(API_TOKEN_PREFIX);
  }

  /** `connection`: the request's, where the token's hash is remembered for its next request (connection-hash.ts). */
  verify(token: string, connection?: object | null): ApiTokenEntry | Promise<ApiTokenEntry> {
    if (token.length !== API_TOKEN_LENGTH) throw invalidToken();
    return this.cache.get(hashOnConnection(connection, token), token);
  }

  close(): void {
    this.cache.close();
  }
}
