import type { StoreHealth } from './health/store-health.js';

/**
 * The narrow store interfaces. Each has an SQLite backend now (embedded default); PostgreSQL
 * and Redis backends come with scale-out and must pass the same contract suite
 * (`stores/contract/*.case.ts`). All times are epoch milliseconds. All methods may throw
 * `StoreUnavailableError` when the backend cannot answer.
 */

export interface UserRecord {
  id: string;
  /** As the user typed it (NFC-normalised), for display. */
  username: string;
  /** NFKC + case-folded form; unique. */
  usernameCanonical: string;
  /**
   * PHC string from argon2id, or NO_PASSWORD for a user created by federation (issue 15) who
   * has not set one: no verifier accepts it (`verifyPassword` checks the dummy hash instead).
   */
  passwordHash: string;
  roles: string[];
  createdAt: number;
  updatedAt: number;
  /**
   * When an admin disabled the account (ms); null: enabled (issue 18). A disabled user signs in
   * nowhere and every credential of theirs is refused; their data stays.
   */
  disabledAt: number | null;
  /** An admin asked for a new password (issue 18): a right password at sign-in gets a reset token instead of a session. Setting a password clears it. */
  passwordChangeRequired: boolean;
}

/** What `UserStore.delete` does besides removing the user and every row of theirs. */
export interface UserDeletion {
  /**
   * What the user's audit events keep as their user id (`deleted:<pseudonym>`): their ip,
   * device id, user agent and detail are cleared in the same transaction.
   */
  auditSubject: string;
  /** Until when (ms) the canonical username and its look-alike skeleton stay quarantined; null: not at all. */
  quarantineUntil: number | null;
}

export interface UserStore {
  /** Inserts a user. Throws `UsernameTakenError` when the canonical username exists (unique index). */
  create(user: UserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | null>;
  findByCanonical(usernameCanonical: string): Promise<UserRecord | null>;
  /**
   * The oldest user whose name looks like this one (as typed): the same UTS #39 skeleton
   * (util/confusable-skeleton.ts), e.g. Cyrillic "аdmin" for "admin", "aIice" for "alice"; null
   * when none. Ask `findByCanonical` first: the same name typed otherwise may have another key.
   */
  findLookalike(username: string): Promise<UserRecord | null>;
  /** Sets the password hash and, in the same write, clears `passwordChangeRequired` (a new password is what was asked for). */
  setPasswordHash(id: string, passwordHash: string, now: number): Promise<void>;
  /** Sets or clears `passwordChangeRequired`, moving `updatedAt`; false when there is no such user. */
  setPasswordChangeRequired(id: string, required: boolean, now: number): Promise<boolean>;
  /** Sets the first password of a user who has none (NO_PASSWORD), in one conditional write; false (nothing written) otherwise. */
  setPasswordHashIfNone(id: string, passwordHash: string, now: number): Promise<boolean>;
  setRoles(id: string, roles: string[], now: number): Promise<void>;
  /**
   * Gives a user another username (display form, canonical key; the look-alike skeleton is
   * derived here as in `create`, so `findLookalike` sees the new name) in one write, moving
   * `updatedAt`. Throws `UsernameTakenError` when another user holds the canonical name (the
   * unique index decides: of two users racing for one name, one wins). False when no such user.
   */
  rename(id: string, username: string, usernameCanonical: string, now: number): Promise<boolean>;
  list(): Promise<UserRecord[]>;
  /**
   * Disables (`disabledAt` a time) or enables (null) the user, moving `updatedAt`. Disabling a
   * disabled user keeps its first `disabledAt` (idempotent). The user as stored now, or null
   * when no such user.
   */
  setDisabled(id: string, disabledAt: number | null, now: number): Promise<UserRecord | null>;
  /**
   * Deletes the user and every row of theirs (sessions and so refresh tokens, API tokens,
   * identities, TOTP, recovery codes, MFA tickets, passkeys and challenges, device codes they
   * approved; later tables by their cascading foreign keys) in one write transaction, in which
   * their audit events are pseudonymised (`deletion.auditSubject`) and their username
   * quarantined (`deletion.quarantineUntil`). The deleted user, or null when no such user
   * (nothing written).
   */
  delete(id: string, deletion: UserDeletion): Promise<UserRecord | null>;
  /**
   * Whether a deleted account's username holds this name until after `now`: the same canonical
   * name, or one that looks the same (the skeleton of `username` as typed).
   */
  isQuarantined(usernameCanonical: string, username: string, now: number): Promise<boolean>;
  /**
   * One keyset page of users for the admin API (issue 18): newest first by (createdAt, id), those
   * strictly after `after` in that order, at most `limit`, narrowed by `filter`. Stable under
   * concurrent inserts: a page never repeats or skips a user that existed when the first was read.
   */
  search(filter: UserSearch, page: { limit: number; after?: UserPageKey | null }): Promise<UserRecord[]>;
}

/** What `UserStore.search` narrows by; every field optional (all: every user). */
export interface UserSearch {
  /** Canonical-username prefix (the caller canonicalises it). */
  prefix?: string;
  /** Users holding this role. */
  role?: string;
  /** true: disabled users only; false: enabled ones only. */
  disabled?: boolean;
  /** Created at or after (ms). */
  createdAfter?: number;
  /** Created strictly before (ms). */
  createdBefore?: number;
}

/** Where a user page ends: the last user's sort key. */
export interface UserPageKey {
  createdAt: number;
  id: string;
}

/**
 * The password hash of a user who has no password (signed up through an identity provider):
 * not a PHC string, so argon2 could never accept it; `verifyPassword` never even tries.
 */
export const NO_PASSWORD = '!';

/** Whether the user can sign in with a password. */
export function hasPassword(user: Pick<UserRecord, 'passwordHash'>): boolean {
  return user.passwordHash !== NO_PASSWORD;
}

/**
 * Whether an admin disabled the user (issue 18). A number only: a user built without the field
 * (a record from before it, a copy) counts as enabled, never as disabled by accident.
 */
export function isDisabled(user: { readonly disabledAt?: number | null }): boolean {
  return typeof user.disabledAt === 'number';
}

/** A user without its password hash: what the gateway may keep of one (`getWithUser`). */
export type UserSummary = Omit<UserRecord, 'passwordHash' | 'passwordChangeRequired'>;

export class UsernameTakenError extends Error {
  constructor() {
    super('username taken');
    this.name = 'UsernameTakenError';
  }
}

export interface SessionRecord {
  /** Public session id (`sid`), never the secret. */
  id: string;
  /** SHA-256 (base64url) of the cookie secret. */
  tokenHash: string;
  userId: string;
  deviceId: string;
  deviceName: string | null;
  /** Synchronizer CSRF token for cookie-authenticated writes. */
  csrfToken: string;
  /** false: browser-session cookie (remember: false). */
  persistent: boolean;
  createdAt: number;
  lastSeenAt: number;
  /** Sliding expiry; never later than absoluteExpiresAt. */
  expiresAt: number;
  absoluteExpiresAt: number;
  /**
   * Space-separated scopes granted to a token session (password grant); null or absent for a
   * browser session (cookies carry every scope). Refreshes keep it.
   */
  scope?: string | null;
  /**
   * How the user proved who they are (RFC 8176 method names: `['pwd']`, `['pwd','otp','mfa']`,
   * `['hwk','user','mfa']`; `['ext']` for an external provider). The store always returns it;
   * absent when written means `['pwd']`.
   */
  amr?: readonly string[];
  /** When the user last authenticated on this session (ms): the sign-in, or a later re-authentication. The store always returns it; absent when written means createdAt. */
  authTime?: number;
}

export interface SessionStore {
  /**
   * Creates a session and, in the same transaction, deletes every earlier session of the same
   * user with the same deviceId. Returns the ids of the sessions it replaced (to revoke them).
   */
  createReplacingDevice(session: SessionRecord): Promise<{ replaced: string[] }>;
  findByTokenHash(tokenHash: string): Promise<SessionRecord | null>;
  /**
   * The session with this token hash and its user, in one read (a join, as lucia's
   * `getSessionAndUser`); null when there is no such session or it has no user. The user comes
   * without its password hash.
   */
  getWithUser(tokenHash: string): Promise<{ session: SessionRecord; user: UserSummary } | null>;
  findById(id: string): Promise<SessionRecord | null>;
  listByUser(userId: string): Promise<SessionRecord[]>;
  /** Throttled sliding-expiry write: sets lastSeenAt and expiresAt. */
  touch(id: string, lastSeenAt: number, expiresAt: number): Promise<void>;
  /**
   * Records a fresh authentication on an existing session (re-authentication, step-up, a second
   * factor completed on it): sets its amr and authTime in place, keeping its id, secret and
   * expiry. Never moves authTime backwards (a slower concurrent call does not undo a newer one).
   * Returns the session as stored now, or null when it does not exist.
   */
  recordAuthentication(id: string, amr: readonly string[], authTime: number): Promise<SessionRecord | null>;
  /** Deletes one session; returns whether it existed. */
  delete(id: string): Promise<boolean>;
  /** Deletes every session of a user except `exceptId`; returns the ids deleted. */
  deleteByUser(userId: string, exceptId?: string): Promise<string[]>;
  /**
   * Deletes every session granted to the registered client `clientId` (a device-flow session:
   * one whose refresh tokens carry that `clientId`), of every user, in one write transaction;
   * returns the sessions deleted (their refresh tokens go with them). `clients remove` ends them.
   */
  deleteByClient(clientId: string): Promise<SessionRecord[]>;
  /** Removes sessions whose expiresAt or absoluteExpiresAt is <= now; returns how many. */
  deleteExpired(now: number): Promise<number>;
}

export interface KeyRecord {
  kid: string;
  alg: 'EdDSA';
  /** Public JWK (kty OKP, crv Ed25519, x). */
  publicJwk: Record<string, unknown>;
  /** Private JWK encrypted under the master key (compact JWE, dir + A256GCM). */
  privateJwe: string;
  createdAt: number;
  /** From this time the key may sign (published in JWKS from createdAt). */
  activatesAt: number;
  /** After this time the key no longer signs (null: not retired). */
  retiresAt: number | null;
  /** After this time the key is no longer published (null: not scheduled). */
  expiresAt: number | null;
}

export interface KeyStore {
  list(): Promise<KeyRecord[]>;
  insert(key: KeyRecord): Promise<void>;
  /**
   * Inserts `key` only when no stored key can sign at `now` (activatesAt <= now and not
   * retired), atomically across processes; returns whether it inserted. Used to create the
   * first key when several instances start together on an empty store.
   */
  insertIfNoSigner(key: KeyRecord, now: number): Promise<boolean>;
  /** Sets retiresAt/expiresAt of one key. */
  retire(kid: string, retiresAt: number, expiresAt: number): Promise<void>;
  deleteExpired(now: number): Promise<number>;
}

/**
 * A revocation event, spread to every gateway through the RevocationFeed.
 *
 * `pending: true` marks a revocation taken while the durable store (PostgreSQL) was away: it is
 * held in the PendingRevocationStore (Redis) until an instance applies it to the store, and
 * gateways keep it in memory until then (the store still holds the session or token). Such a
 * revocation names the user it was asked for (`userId`), and only ever refuses a credential of
 * that user (the store could not confirm the owner when it was taken).
 */
export type RevocationEvent =
  /** A session ended (sign-out, device removed, replaced, password change, theft). */
  | { type: 'session'; sid: string; at: number; userId?: string; pending?: boolean }
  /**
   * Every credential of the user issued before notBefore is dead (sign-out-all, password change).
   * `sessions: true`: so is every session started before it (a sign-out-all taken while the store
   * was away, when its sessions could not be listed one by one).
   */
  | { type: 'user'; userId: string; notBefore: number; at: number; sessions?: boolean; pending?: boolean }
  /** One access token revoked (RFC 7009); `exp` is its expiry in epoch seconds, after which the entry is moot. */
  | { type: 'access_token'; jti: string; exp: number; at: number; pending?: boolean }
  /** An API token was deleted: drop it from every cache at once. */
  | { type: 'api_token'; tokenId: string; at: number; userId?: string; pending?: boolean }
  /**
   * An OAuth client was removed (`gatehouse clients remove`): every client-credentials token of
   * `clientId`, and every user access token granted to it (`client_id`, device flow), issued at
   * or before `at` (its second) is refused, also once a new client takes the id.
   */
  | { type: 'client'; clientId: string; at: number; pending?: boolean }
  /**
   * Not a revocation: the user authenticated again on a live session (re-authentication, step-up,
   * issue 17), so its amr and auth_time changed (`authTime`, ms). Every gateway re-reads the
   * session at once instead of keeping its cached copy for `session.cacheTtlMs`. Never pending
   * (recording it needs the session store).
   */
  | { type: 'session_auth'; sid: string; userId: string; authTime: number; at: number; pending?: boolean };

/** Whether `v` is a well-formed RevocationEvent (from the channel, or an auth service's answer). */
export function isRevocationEvent(v: unknown): v is RevocationEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  if (typeof e.at !== 'number') return false;
  if (e.pending !== undefined && typeof e.pending !== 'boolean') return false;
  switch (e.type) {
    case 'session':
      return typeof e.sid === 'string' && (e.userId === undefined || typeof e.userId === 'string');
    case 'user':
      return typeof e.userId === 'string' && typeof e.notBefore === 'number' && (e.sessions === undefined || typeof e.sessions === 'boolean');
    case 'access_token':
      return typeof e.jti === 'string' && typeof e.exp === 'number';
    case 'api_token':
      return typeof e.tokenId === 'string' && (e.userId === undefined || typeof e.userId === 'string');
    case 'client':
      return typeof e.clientId === 'string' && e.clientId !== '';
    case 'session_auth':
      return typeof e.sid === 'string' && typeof e.userId === 'string' && typeof e.authTime === 'number';
    default:
      return false;
  }
}

/** Spreads revocations to every gateway (in process now; Redis pub/sub with scale-out). */
export interface RevocationFeed {
  publish(event: RevocationEvent): Promise<void>;
  /** Returns an unsubscribe function. Handlers run synchronously for the in-process feed. */
  subscribe(handler: (event: RevocationEvent) => void): () => void;
  close(): Promise<void>;
}

/** Durable record of revocations, so a restarted gateway and polling fallbacks know them. */
export interface RevocationStore {
  add(event: RevocationEvent, keepUntil: number): Promise<void>;
  /** Events with `at` > since, oldest first. */
  since(since: number): Promise<RevocationEvent[]>;
  deleteExpired(now: number): Promise<number>;
}

/**
 * Revocations taken while the durable store was away (Redis in scale-out; none embedded, where
 * the store is a local file): kept until an instance has applied them to the store. Every
 * method throws when the backend cannot answer.
 */
export interface PendingRevocationStore {
  /** Records one pending revocation (`pending: true`); resolves once the backend acknowledged it. */
  add(event: RevocationEvent): Promise<void>;
  /** Every pending revocation, oldest first. */
  list(): Promise<RevocationEvent[]>;
  /** Forgets one, once the durable store confirmed it. */
  remove(event: RevocationEvent): Promise<void>;
}

/** One refresh token of a device session's family. Only the SHA-256 of the token is stored. */
export interface RefreshTokenRecord {
  /** SHA-256 (base64url) of the refresh token. */
  tokenHash: string;
  /** The device session it belongs to; ending the session deletes its refresh tokens. */
  sessionId: string;
  createdAt: number;
  /** When it was exchanged for its successor; null while it is the current token. */
  rotatedAt: number | null;
  /**
   * The registered OAuth client the token was issued to (a device-flow session, issue 14); null
   * for the first-party client `gatehouse`. A successor keeps its predecessor's (`rotate` copies
   * it, whatever `next` says).
   */
  clientId: string | null;
}

/** A refresh token with its session and the session's user (without its password hash): what a refresh reads. */
export interface RefreshTokenWithSession {
  token: RefreshTokenRecord;
  session: SessionRecord;
  user: UserSummary;
}

export interface RefreshTokenStore {
  /**
   * Inserts the first token of a session's family. Returns false (and inserts nothing) when the
   * session no longer exists (replaced or signed out in the meantime).
   */
  create(record: RefreshTokenRecord): Promise<boolean>;
  findByHash(tokenHash: string): Promise<RefreshTokenRecord | null>;
  /**
   * The token with this hash, its session and the session's user, in one read (a join); null
   * when there is no such token (never issued, or its session ended) or its user is gone.
   */
  findWithSession(tokenHash: string): Promise<RefreshTokenWithSession | null>;
  /**
   * Compare-and-swap rotation in one write transaction: when `oldHash` exists and is current
   * (rotatedAt null), marks it rotated at `now` and inserts `next` -> 'rotated'; given
   * `sessionExpiresAt`, the same transaction slides the token's session (lastSeenAt = `now`,
   * expiresAt = the earlier of `sessionExpiresAt` and its absolute expiry). When it was
   * rotated already -> 'already_rotated' (nothing written). When it does not exist (never
   * issued, or its session ended) -> 'unknown'. Rotations of different tokens never fail
   * each other (no serialization failures between unrelated rows).
   */
  rotate(oldHash: string, next: RefreshTokenRecord, now: number, sessionExpiresAt?: number): Promise<'rotated' | 'already_rotated' | 'unknown'>;
  /** Every token of one session's family (current and rotated), oldest first. */
  listBySession(sessionId: string): Promise<RefreshTokenRecord[]>;
}

/** A personal API token (scripts). Only the SHA-256 of the token is stored. */
export interface ApiTokenRecord {
  /** Public id (used to list and delete; never the secret). */
  id: string;
  userId: string;
  name: string;
  /** SHA-256 (base64url) of the token; unique. */
  tokenHash: string;
  scopes: string[];
  createdAt: number;
  /** null: until deleted. */
  expiresAt: number | null;
  lastUsedAt: number | null;
}

export interface ApiTokenStore {
  create(record: ApiTokenRecord): Promise<void>;
  findByHash(tokenHash: string): Promise<ApiTokenRecord | null>;
  /**
   * The token with this hash and its owner, in one read (a join); null when there is no such
   * token or it has no user. Expired tokens are returned (the caller decides). The user comes
   * without its password hash.
   */
  getWithUser(tokenHash: string): Promise<{ token: ApiTokenRecord; user: UserSummary } | null>;
  /** The user's tokens, newest first. */
  listByUser(userId: string): Promise<ApiTokenRecord[]>;
  /** Deletes the token when it belongs to `userId`; returns whether it did. */
  delete(id: string, userId: string): Promise<boolean>;
  /** Records a use; never moves lastUsedAt backwards. The gateway throttles the calls. */
  touchLastUsed(id: string, at: number): Promise<void>;
}

/** The grants an OAuth client may be allowed (issue 14); the ones that use clients come with it. */
export const CLIENT_GRANTS = ['device_code', 'refresh_token', 'client_credentials', 'token-exchange'] as const;
export type ClientGrant = (typeof CLIENT_GRANTS)[number];

/** `public`: a TV or CLI app, no secret. `confidential`: a service, with a secret. */
export type ClientType = 'public' | 'confidential';

/**
 * The first-party client (the web pages and the password grant, `client_id=gatehouse`): built
 * in, never in the client store; the store refuses to create or remove it.
 */
export const FIRST_PARTY_CLIENT_ID = 'gatehouse';

/**
 * A client id: 1 to 64 lowercase letters, digits, ".", "_" or "-", starting and ending with a
 * letter or digit. Safe in URLs, logs, HTTP Basic (no ":") and as a service name.
 */
export const CLIENT_ID_RE = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/;

/** One secret of a confidential client. Only the SHA-256 of the secret is stored. */
export interface ClientSecretRecord {
  /** SHA-256 (base64url) of the secret (`hashSecret`). */
  hash: string;
  createdAt: number;
  /** After this time the secret no longer authenticates (the end of a rotation's overlap); null: until rotated. */
  notAfter: number | null;
}

/** A registered OAuth client (issue 14). */
export interface ClientRecord {
  /** Unique; matches CLIENT_ID_RE; never FIRST_PARTY_CLIENT_ID. */
  clientId: string;
  /** Shown to people (e.g. on the device approval page). */
  name: string;
  type: ClientType;
  grants: ClientGrant[];
  scopes: string[];
  /** The services this client may ask passports for (token exchange). */
  audiences: string[];
  /** The audience of the passports this client receives (confidential clients; defaults to its id); null for public ones. */
  service: string | null;
  /** Confidential clients: one secret, or two during a rotation (oldest first). Public clients: none. */
  secrets: ClientSecretRecord[];
  createdAt: number;
  updatedAt: number;
  lastUsedAt: number | null;
}

/** What `ClientStore.update` may change. */
export type ClientChanges = Partial<Pick<ClientRecord, 'name' | 'grants' | 'scopes' | 'audiences' | 'service'>>;

export interface ClientStore {
  /**
   * Inserts a client. Throws `ClientIdTakenError` when the id exists, `ClientIdRefusedError`
   * for FIRST_PARTY_CLIENT_ID or an id that does not match CLIENT_ID_RE.
   */
  create(client: ClientRecord): Promise<void>;
  get(clientId: string): Promise<ClientRecord | null>;
  /** Every client, by id. */
  list(): Promise<ClientRecord[]>;
  /** Changes name, grants, scopes, audiences or service and sets updatedAt (never the type or the secrets); the updated client, or null when unknown. */
  update(clientId: string, changes: ClientChanges, now: number): Promise<ClientRecord | null>;
  /**
   * Rotation, in one write transaction: `next` becomes the current secret; the secret current
   * until now stays valid until `previousNotAfter` (its own notAfter when earlier; dropped when
   * `previousNotAfter` <= now); any older secret, and any past its notAfter, is dropped. So a
   * client never holds more than two. Sets updatedAt. The updated client, or null when unknown.
   */
  rotateSecret(clientId: string, next: ClientSecretRecord, previousNotAfter: number, now: number): Promise<ClientRecord | null>;
  /** Records a use; never moves lastUsedAt backwards. */
  touchLastUsed(clientId: string, at: number): Promise<void>;
  /** Deletes a client; returns whether it existed. Throws `ClientIdRefusedError` for FIRST_PARTY_CLIENT_ID. */
  remove(clientId: string): Promise<boolean>;
}

export class ClientIdTakenError extends Error {
  constructor(readonly clientId: string) {
    super(`a client with id "${clientId}" exists already`);
    this.name = 'ClientIdTakenError';
  }
}

export class ClientIdRefusedError extends Error {
  constructor(readonly clientId: string) {
    super(
      clientId === FIRST_PARTY_CLIENT_ID
        ? `"${FIRST_PARTY_CLIENT_ID}" is the built-in first-party client; it cannot be created or removed`
        : `${JSON.stringify(clientId)} is not a client id: use 1 to 64 lowercase letters, digits, ".", "_" or "-", starting and ending with a letter or digit`,
    );
    this.name = 'ClientIdRefusedError';
  }
}

/** A limit: at most `points` points per key in a fixed window of `durationSec` seconds from the key's first use. */
export interface RateLimitRule {
  points: number;
  durationSec: number;
}

export interface RateLimitResult {
  /** Whether this consume fitted within the rule (a refused consume still counts). */
  allowed: boolean;
  /** Points left in the current window (0 when refused). */
  remaining: number;
  /** When refused: milliseconds until the window ends and the key is free again; 0 when allowed. */
  retryAfterMs: number;
  /** Points consumed in the current window, this consume included (peek: without consuming). */
  consumed: number;
}

/**
 * Counters for abuse limits (memory now; Redis with scale-out, shared by every instance).
 * Counters expire by themselves at the end of their window. Every operation is atomic: N
 * parallel consumes of one key allow exactly `points`. A key is meant to be used with one rule
 * (callers put the purpose in the key, e.g. `signin:account:<hash>`).
 */
export interface RateLimitStore {
  /** Consumes `cost` (default 1) points of `key` under `rule`. */
  consume(key: string, rule: RateLimitRule, cost?: number): Promise<RateLimitResult>;
  /**
   * Gives back `points` (default 1) consumed under `rule` moments ago, for an attempt that ended
   * without an answer (a store away, a full queue) and so must not count against its key.
   */
  refund(key: string, rule: RateLimitRule, points?: number): Promise<void>;
  /** Forgets the key's counter (whatever the rule). */
  reset(key: string): Promise<void>;
  /** The key's state without consuming: `allowed` says whether one more point would fit. */
  peek(key: string, rule: RateLimitRule): Promise<RateLimitResult>;
}

/** What the security event log records (never a secret). */
export const AUDIT_EVENT_TYPES = [
  'signin.success',
  'signin.failure',
  'signin.locked',
  'signout',
  'signout_all',
  'session.removed',
  'password.changed',
  'refresh.reuse_detected',
  'api_token.created',
  'api_token.deleted',
  'signup',
  /** Federation (issue 15): an external identity linked to the account (detail: provider, how). */
  'identity.linked',
  'identity.unlinked',
  /** A password-less account (signed up through a provider) set its first password. */
  'password.set',
  /** The user changed their username (detail: old, new: the display forms). */
  'username.changed',
  /** Second factors (issue 17): a TOTP factor confirmed / removed (detail: by: 'user' or 'admin'). */
  'mfa.totp_added',
  'mfa.totp_removed',
  /** New recovery codes (the old ones stop working); one used at sign-in (detail: remaining). */
  'mfa.recovery_codes_generated',
  'mfa.recovery_code_used',
  /** A wrong one-time code or recovery code at the second step of a sign-in (detail: via, attempts_left). */
  'signin.mfa_failure',
  /** Re-authentication on a live session (issue 17, step-up; detail: sid, amr). */
  'session.reauthenticated',
  /** Passkeys (issue 17): registered (detail: credential_id, name), renamed, removed. */
  'passkey.registered',
  'passkey.renamed',
  'passkey.removed',
  /** A call of the admin API, on the acting admin (detail: action, target: the user it concerns). */
  'admin.action',
  /** Account lifecycle (issue 18; detail: by: the admin's id, or 'cli'). */
  'account.disabled',
  'account.enabled',
  /** On the pseudonym (`deleted:<pseudonym>`) of a deleted account; detail: by. */
  'account.deleted',
  /** Roles set by an admin or the CLI (detail: by, roles: the new roles, comma-separated). */
  'roles.changed',
  /** Email (issue 18): an address set (unverified; detail: domain), verified, removed. */
  'email.added',
  'email.verified',
  'email.removed',
  /** A forgotten-password request for the account (detail: by: 'username' | 'email', sent). */
  'password.reset_requested',
  /** The password was set with a reset link or the reset token of a forced change (detail: sessions_ended). */
  'password.reset',
  /** An admin (or the CLI) made a reset link for the account (detail: by). */
  'password.reset_link_created',
  /** An admin (or the CLI) asked the account for a new password at the next sign-in (detail: by). */
  'password.change_required',
] as const;

export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** One security event of the account activity log. */
export interface AuditEvent {
  /** Random id. */
  id: string;
  /** The account it concerns; null for events not tied to a known account. */
  userId: string | null;
  type: AuditEventType;
  /** Epoch ms. */
  at: number;
  /** Client IP as the auth service resolved it. */
  ip: string | null;
  deviceId: string | null;
  userAgent: string | null;
  /** Small non-secret facts (reason, session id, token id, counts). */
  detail: Record<string, string | number | boolean> | null;
}

export interface AuditStore {
  append(event: AuditEvent): Promise<void>;
  /** The user's events, newest first (ties: later appended first), at most `limit`. */
  listByUser(userId: string, limit: number): Promise<AuditEvent[]>;
  /** Deletes events with `at` < ts; returns how many. */
  deleteOlderThan(ts: number): Promise<number>;
  /**
   * One keyset page of events across users (the admin API, issue 18), narrowed by `filter`:
   * `desc` newest first by (at, seq: later appended first on a tie), `asc` oldest first; those
   * strictly past `after` in that order, at most `limit`. Each with its sort key (for the next
   * page) and the username of its user (null: no user, or gone). Stable under concurrent
   * inserts: a page never repeats or skips an event that existed when the first was read.
   */
  query(filter: AuditFilter, page: { limit: number; order: 'asc' | 'desc'; after?: AuditPageKey | null }): Promise<AuditPageRow[]>;
}

/** What `AuditStore.query` narrows by; every field optional. */
export interface AuditFilter {
  /** At or after (ms). */
  from?: number;
  /** Strictly before (ms). */
  to?: number;
  userId?: string;
  /** Any of these types. */
  types?: readonly AuditEventType[];
  ip?: string;
  deviceId?: string;
}

/** Where an audit page ends: the last event's sort key (`seq`: the append order, unique). */
export interface AuditPageKey {
  at: number;
  seq: number;
}

export interface AuditPageRow {
  event: AuditEvent;
  key: AuditPageKey;
  /** The display username of `event.userId`, when that user exists. */
  username: string | null;
}

/** Where a device authorization (RFC 8628) stands. */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'redeemed';

/** One device authorization request (RFC 8628, issue 14 §2). The device code itself is never stored. */
export interface DeviceCodeRecord {
  /** SHA-256 (base64url) of the device code: the primary key. */
  deviceCodeHash: string;
  /** The user code, normalised: 8 letters of the user-code alphabet, upper case, no dash. */
  userCode: string;
  clientId: string;
  /** Space-separated scopes the device asked for (already narrowed to what the client may get). */
  scope: string;
  deviceName: string | null;
  createdAt: number;
  expiresAt: number;
  /** The polling interval in seconds; grows by 5 with every slow_down. */
  intervalSec: number;
  /** The last poll that was recorded (only a slow_down records one); null until then. */
  lastPollAt: number | null;
  status: DeviceCodeStatus;
  /** The user who approved or denied it; null while pending. */
  userId: string | null;
  /**
   * How the approving session's user had signed in (its amr and auth_time, ms; issue 17): the
   * device session starts with them. Absent or null: not recorded (a request approved before
   * migration 0010, or still pending).
   */
  approvedAmr?: readonly string[] | null;
  approvedAuthTime?: number | null;
}

export interface DeviceCodeStore {
  /**
   * Inserts a pending request. Throws `UserCodeTakenError` when a request that has not expired
   * holds the same user code (an expired one is removed first, in the same transaction).
   */
  create(record: DeviceCodeRecord): Promise<void>;
  /** The request with this device-code hash, whatever its state or expiry; null when unknown. */
  findByHash(deviceCodeHash: string): Promise<DeviceCodeRecord | null>;
  /** The pending request with this (normalised) user code that has not expired at `now`; null otherwise. */
  findPendingByUserCode(userCode: string, now: number): Promise<DeviceCodeRecord | null>;
  /**
   * pending and unexpired -> `decision`, recording `userId` and, given, how the approving session
   * signed in (`approval`: approvedAmr, approvedAuthTime) (one conditional UPDATE: of two
   * parallel decisions exactly one wins). The updated record, or null when nothing changed.
   */
  decide(userCode: string, decision: 'approved' | 'denied', userId: string, now: number, approval?: { amr: readonly string[]; authTime: number }): Promise<DeviceCodeRecord | null>;
  /** approved and unexpired -> redeemed (one conditional UPDATE); true for exactly one caller. */
  redeem(deviceCodeHash: string, now: number): Promise<boolean>;
  /**
   * redeemed -> approved again: undoes a redemption whose tokens could not be issued (a store
   * failed after `redeem`), so the device's next poll can try again. Returns whether it changed.
   */
  release(deviceCodeHash: string): Promise<boolean>;
  /**
   * A slow_down: the interval becomes `intervalSec` and the poll time is recorded, only while
   * the interval is still `fromIntervalSec` (so two instances seeing the same fast poll add 5 s
   * once). Returns whether it changed.
   */
  slowDown(deviceCodeHash: string, fromIntervalSec: number, intervalSec: number, at: number): Promise<boolean>;
  /** Removes requests that expired before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}

export class UserCodeTakenError extends Error {
  constructor() {
    super('a live device authorization holds this user code');
    this.name = 'UserCodeTakenError';
  }
}

/** An external identity (issue 15: a user at an identity provider) linked to a Gatehouse user. */
export interface IdentityRecord {
  /** The configured provider's id (`federation.providers[].id`). */
  provider: string;
  /** The provider's stable id of the user (OIDC `sub`). Unique with `provider`. */
  subject: string;
  userId: string;
  /** The email as the provider gave it at the last sign-in, if any. */
  email: string | null;
  /** Whether the provider said it verified `email`. */
  emailVerified: boolean;
  createdAt: number;
  /** The last sign-in through it (createdAt at first). */
  lastUsedAt: number;
}

export interface IdentityStore {
  findBySubject(provider: string, subject: string): Promise<IdentityRecord | null>;
  /** The user's identities, oldest first. */
  listForUser(userId: string): Promise<IdentityRecord[]>;
  /**
   * The identities whose email the provider verified and equals `email` once both are trimmed
   * and lower-cased, oldest first (for linking by verified email).
   */
  listByVerifiedEmail(email: string): Promise<IdentityRecord[]>;
  /**
   * Links the identity to `record.userId`, atomically: 'linked' when it was new, 'already' when
   * it is linked to that user already (nothing written). Throws `IdentityTakenError` when it is
   * linked to another user (nothing written).
   */
  link(record: IdentityRecord): Promise<'linked' | 'already'>;
  /**
   * Creates `user` and links `identity` to it in one write transaction (the first sign-in):
   * either both exist afterwards or neither. Throws `IdentityTakenError` when the identity is
   * linked already (a parallel first sign-in won), `UsernameTakenError` when the name is taken.
   */
  createUserWithIdentity(user: UserRecord, identity: IdentityRecord): Promise<void>;
  /**
   * Removes the user's identity, in one write transaction. `keepOne`: refuse ('last', nothing
   * removed) when it is the user's only identity (the user has no password: the last way to
   * sign in). 'not_found' when the user has no such identity.
   */
  unlink(userId: string, provider: string, subject: string, options: { keepOne: boolean }): Promise<'unlinked' | 'not_found' | 'last'>;
  /** Records a sign-in through it (never moves lastUsedAt backwards) and the email the provider gave this time. */
  touch(provider: string, subject: string, at: number, email: { email: string | null; emailVerified: boolean }): Promise<void>;
}

export class IdentityTakenError extends Error {
  constructor(readonly userId: string) {
    super('this identity is linked to another user');
    this.name = 'IdentityTakenError';
  }
}

/** A user's TOTP factor (issue 17, RFC 6238): one per user. */
export interface TotpFactorRecord {
  userId: string;
  /** Compact JWE (dir, A256GCM, key derived from the master key) of the base32 secret; never the secret itself. */
  secretJwe: string;
  createdAt: number;
  /** When a first code confirmed it; null: enrolment pending (it does not count as a factor). */
  confirmedAt: number | null;
  /** The last time step (unix seconds / 30) a code was accepted for; null before the first. */
  lastStep: number | null;
}

/** A pending second step of a sign-in (issue 17): the MFA ticket, held as a SHA-256 hash only. */
export interface MfaTicketRecord {
  ticketHash: string;
  userId: string;
  /** Where the first step came from: `signin` (browser) or `password_grant` (token endpoint). */
  via: string;
  /** The device of the session to create (browser sign-in), or null. */
  deviceId: string | null;
  deviceName: string | null;
  persistent: boolean;
  /** The password grant's client and scope (what the tokens will carry), or null. */
  clientId: string | null;
  scope: string | null;
  createdAt: number;
  expiresAt: number;
  /** When the second step used it; null while unused. */
  usedAt: number | null;
}

/**
 * Second factors (issue 17): TOTP factors, recovery codes and MFA tickets. Every single-use
 * thing is taken by one conditional UPDATE (compare-and-swap), so of two instances taking the
 * same TOTP step, recovery code or ticket at once exactly one succeeds.
 */
export interface MfaStore {
  findTotp(userId: string): Promise<TotpFactorRecord | null>;
  /**
   * Stores a new pending (unconfirmed) factor, replacing a pending one. Returns false, writing
   * nothing, when the user has a confirmed factor already.
   */
  putPendingTotp(record: TotpFactorRecord): Promise<boolean>;
  /**
   * Confirms the pending factor whose secret is `secretJwe` (not one replaced meanwhile), taking
   * `step` as its first used step. True for exactly one caller.
   */
  confirmTotp(userId: string, secretJwe: string, step: number, at: number): Promise<boolean>;
  /** Takes `step` for the confirmed factor when it is later than the last one taken: true for exactly one caller (replay refusal). */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  /** Removes the user's factor (pending or confirmed); whether there was one. */
  deleteTotp(userId: string): Promise<boolean>;
  /** Replaces every recovery code of the user with these hashes (one transaction). */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: number): Promise<void>;
  /** Marks the unused code with this hash used: true for exactly one caller. */
  useRecoveryCode(userId: string, codeHash: string, at: number): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  countUnusedRecoveryCodes(userId: string): Promise<number>;
  /** Removes the user's recovery codes; how many. */
  deleteRecoveryCodes(userId: string): Promise<number>;
  createTicket(record: MfaTicketRecord): Promise<void>;
  /** The ticket with this hash, whatever its state; null when unknown. */
  findTicket(ticketHash: string): Promise<MfaTicketRecord | null>;
  /** Unused and unexpired at `now` -> used (one conditional UPDATE): true for exactly one caller. */
  useTicket(ticketHash: string, now: number): Promise<boolean>;
  /** Removes tickets that expired before `before`; how many. */
  deleteExpiredTickets(before: number): Promise<number>;
}

/** A WebAuthn credential (passkey, issue 17) registered to a user. Holds no secret: the public key only. */
export interface WebAuthnCredentialRecord {
  /** The credential id (base64url), as the authenticator made it: the primary key. */
  id: string;
  userId: string;
  /** The COSE public key, base64url. */
  publicKey: string;
  /** The signature counter last seen (0: the authenticator keeps none). */
  counter: number;
  /** Transports the browser reported at registration (hints for the next ceremony). */
  transports: string[];
  /** 'singleDevice' (bound to one authenticator) or 'multiDevice' (synced passkey). */
  deviceType: 'singleDevice' | 'multiDevice';
  /** The backup-state flag (BS) of the last ceremony. */
  backedUp: boolean;
  /** The user's name for it. */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** A WebAuthn ceremony's challenge, kept so any instance can finish it and it is good once. */
export interface WebAuthnChallengeRecord {
  /** SHA-256 (base64url) of the challenge as the options carried it (base64url): the primary key. */
  challengeHash: string;
  kind: 'registration' | 'authentication';
  /** The user a registration is for; null for a passwordless sign-in (anyone may answer). */
  userId: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface WebAuthnStore {
  /** Adds a credential; throws `PasskeyTakenError` when the credential id is registered already. */
  createCredential(record: WebAuthnCredentialRecord): Promise<void>;
  findCredential(id: string): Promise<WebAuthnCredentialRecord | null>;
  /** The user's credentials, oldest first. */
  listCredentials(userId: string): Promise<WebAuthnCredentialRecord[]>;
  /** Renames the user's credential; false when the user has no such credential. */
  renameCredential(userId: string, id: string, name: string): Promise<boolean>;
  /** Deletes the user's credential; false when the user has no such credential. */
  deleteCredential(userId: string, id: string): Promise<boolean>;
  /**
   * Records a verified use, as a compare-and-swap on the counter: the row changes only while its
   * counter is still `fromCounter`, so of two instances accepting assertions of one credential
   * at once only one moves it (the other is refused as a possible clone). Returns whether it changed.
   */
  recordUse(id: string, use: { fromCounter: number; counter: number; backedUp: boolean; at: number }): Promise<boolean>;
  createChallenge(record: WebAuthnChallengeRecord): Promise<void>;
  /**
   * Takes the challenge, once: a conditional UPDATE (`used_at is null`, not expired, of this
   * kind), so of any number of instances exactly one gets it. null: unknown, used, expired or
   * of the other kind.
   */
  consumeChallenge(challengeHash: string, kind: WebAuthnChallengeRecord['kind'], now: number): Promise<WebAuthnChallengeRecord | null>;
  /** Deletes challenges that expired before `before`; returns how many. */
  deleteExpiredChallenges(before: number): Promise<number>;
}

export class PasskeyTakenError extends Error {
  constructor() {
    super('this credential is registered already');
    this.name = 'PasskeyTakenError';
  }
}

/** A user's email address (issue 18): one per user; it counts (notifications, forgotten password) once verified. */
export interface UserEmailRecord {
  userId: string;
  /** As the user typed it, trimmed. */
  address: string;
  createdAt: number;
  /** When a verification link for this very address was used; null: not verified. */
  verifiedAt: number | null;
}

export type EmailTokenPurpose = 'verify' | 'reset';

/** A single-use email token (a verification or password-reset link): only its SHA-256 is stored. */
export interface EmailTokenRecord {
  /** SHA-256 (base64url) of the token. */
  tokenHash: string;
  userId: string;
  purpose: EmailTokenPurpose;
  /** The address a verification token is for (it verifies that address only); null for reset. */
  address: string | null;
  createdAt: number;
  expiresAt: number;
  /** When it was used; null while unused. */
  usedAt: number | null;
}

/** The trimmed, lower-cased form of an address: what lookups by address compare. */
export function canonicalEmail(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * Email addresses and email tokens (issue 18). A token is taken by one conditional UPDATE
 * (compare-and-swap), so of two instances using the same link at once exactly one succeeds.
 */
export interface EmailStore {
  /** The user's address, verified or not; null when none. */
  get(userId: string): Promise<UserEmailRecord | null>;
  /** Sets the user's address (unverified), replacing any earlier one, verified or not. */
  set(userId: string, address: string, now: number): Promise<UserEmailRecord>;
  /** Marks the user's address verified, only while it is still `address` (canonical comparison): true when it changed now. */
  markVerified(userId: string, address: string, now: number): Promise<boolean>;
  /** Removes the user's address; whether there was one. */
  remove(userId: string): Promise<boolean>;
  /** The ids of the users whose VERIFIED address is `address` (canonical comparison), oldest first, at most `limit`. */
  usersWithVerifiedAddress(address: string, limit: number): Promise<string[]>;
  /**
   * Stores a new token and, in the same transaction, voids (deletes) every earlier token of the
   * same user and purpose: only the newest link of each kind works.
   */
  createToken(record: EmailTokenRecord): Promise<void>;
  /**
   * Takes the token: unused, unexpired at `now` and of `purpose` -> used (one conditional
   * UPDATE), returning it; null (nothing written) otherwise. Non-null for exactly one caller.
   */
  useToken(tokenHash: string, purpose: EmailTokenPurpose, now: number): Promise<EmailTokenRecord | null>;
  /** The token with this hash, whatever its state (to check a link before doing work); null when unknown or voided. */
  findToken(tokenHash: string): Promise<EmailTokenRecord | null>;
  /** Removes every token of the user (a purpose only, when given); how many. */
  deleteTokens(userId: string, purpose?: EmailTokenPurpose): Promise<number>;
  /** Removes tokens that expired before `before`; how many. */
  deleteExpiredTokens(before: number): Promise<number>;
}

export interface Stores {
  /** Human-readable description for the start line, e.g. "SQLite /data/gatehouse.db". */
  describe: Record<'users' | 'sessions' | 'keys' | 'revocations' | 'refreshTokens' | 'apiTokens' | 'clients' | 'deviceCodes' | 'identities' | 'rateLimits' | 'audit' | 'mfa', string>;
  users: UserStore;
  sessions: SessionStore;
  keys: KeyStore;
  revocations: RevocationStore;
  refreshTokens: RefreshTokenStore;
  apiTokens: ApiTokenStore;
  /** Registered OAuth clients (issue 14). */
  clients: ClientStore;
  /** Device authorization requests (RFC 8628, issue 14 §2). */
  deviceCodes: DeviceCodeStore;
  /** External identities linked to users (federation, issue 15). */
  identities: IdentityStore;
  /** WebAuthn credentials (passkeys) and ceremony challenges (issue 17). */
  webauthn: WebAuthnStore;
  /** Abuse-limit counters (sign-in lock, per-IP limits, used proof-of-work challenges). */
  rateLimits: RateLimitStore;
  /** Security event log (account activity). */
  audit: AuditStore;
  /** Second factors: TOTP, recovery codes, MFA tickets (issue 17). */
  mfa: MfaStore;
  /** Email addresses and email tokens (issue 18). */
  emails: EmailStore;
  /** Cheap liveness probe per store (one query; may wait for a hung database: /readyz reads `health`). */
  ready(): Promise<Record<string, boolean>>;
  /**
   * The parts these stores depend on, kept up to date in the background (database with its
   * circuit breaker, its storage; scale-out adds Redis and the data directory's disk): what
   * /readyz and /metrics read, and what logs one line per state change.
   */
  health: StoreHealth;
  close(): Promise<void>;
}

/** What /readyz says of the hot copy: Redis answering, no hot copy configured, or Redis away. */
export type HotCacheStatus = 'redis' | 'none' | 'down';

export interface HotCacheStats {
  hits: number;
  misses: number;
  /** Commands that failed or timed out (swallowed: the caller fell through to the durable store). */
  errors: number;
}

/**
 * The shared hot copy of sessions and resolved API tokens (DESIGN §4: "memory, then Redis"):
 * small JSON values by key, each with a TTL. An accelerator only, never the source of truth:
 * `get` answers `undefined` on a miss AND on any failure, `set`/`delete` are fire-and-forget.
 * Nothing here ever throws to a request or makes it wait longer than the command timeout.
 */
export interface HotCache {
  readonly kind: 'redis' | 'none';
  /** The parsed value, or undefined (miss, Redis away, timeout, garbage). Never rejects. */
  get(key: string): Promise<unknown>;
  /** Stores `value` for `ttlMs` (ignored when < 1). Never throws; not awaited by callers. */
  set(key: string, value: unknown, ttlMs: number): void;
  /** Removes the key. Never throws; not awaited by callers. */
  delete(key: string): void;
  status(): HotCacheStatus;
  stats(): HotCacheStats;
  /** "Redis host:port" without credentials, or "none". */
  describe(): string;
}
