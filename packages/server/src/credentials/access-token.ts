import { issuerOf } from '../config/issuer.js';
import type { Deps } from '../context.js';
import { signJwt, verifyJwt } from '../crypto/jwt.js';
import { randomId } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import type { SessionRecord, UserRecord } from '../stores/types.js';

/** JOSE `typ` of access tokens (RFC 9068). Passports use `passport+jwt`. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
/** `client_id` of every access token: the one first-party public client. */
export const ACCESS_TOKEN_CLIENT_ID = 'gatehouse';

/**
 * Claims of a Gatehouse access token (RFC 9068 plus `username`, `roles`, `sid`, `did`, so the
 * gateway can mint a passport without a store call). `aud` is the issuer URL, which can never
 * equal a route's service name (a passport's `aud`), so neither replays as the other.
 */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  /** User id. */
  sub: string;
  client_id: string;
  /** Space-separated scopes. */
  scope: string;
  /** Session id (never the secret). */
  sid: string;
  /** Device id. */
  did: string;
  jti: string;
  /** Epoch seconds. */
  iat: number;
  /** Epoch seconds. */
  exp: number;
  username: string;
  roles: string[];
  /** How the user proved who they are on the token's session (RFC 8176 names); refreshed tokens carry the session's current value. Absent only on tokens minted before issue 17. */
  amr?: string[];
  /** When the user last authenticated on the session (epoch seconds, OIDC `auth_time`); absent where `amr` is. */
  auth_time?: number;
}

export interface IssueAccessTokenInput {
  /** Only what the token names (a refresh reads the user without the password hash). */
  user: Pick<UserRecord, 'id' | 'username' | 'roles'>;
  session: SessionRecord;
  scope: string;
  /** The registered client the session was granted to (device flow); omitted or null: the first-party client. */
  clientId?: string | null;
}

/** Signs a new access token for a device session; `expiresIn` is in seconds. */
export async function issueAccessToken(
  deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
  input: IssueAccessTokenInput,
): Promise<{ token: string; expiresIn: number; jti: string }> {
  return signAccessJwt<AccessTokenClaims>(deps, deps.config.tokens.accessTokenTtlSec, {
    sub: input.user.id,
    client_id: input.clientId ?? ACCESS_TOKEN_CLIENT_ID,
    scope: input.scope,
    sid: input.session.id,
    did: input.session.deviceId,
    username: input.user.username,
    roles: [...input.user.roles],
    amr: [...(input.session.amr ?? ['pwd'])],
    auth_time: Math.floor((input.session.authTime ?? input.session.createdAt) / 1000),
  });
}

/** The claims every access token (a user's or a client's) gets alike: issuer, audience, id and times. */
type Stamped = 'iss' | 'aud' | 'jti' | 'iat' | 'exp';

/** Signs an `at+jwt` good for `expiresIn` seconds: `body` plus iss = aud = the issuer, a new jti, iat and exp. */
async function signAccessJwt<C extends AccessTokenClaims | ClientAccessTokenClaims>(
  deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
  expiresIn: number,
  body: Omit<C, Stamped>,
): Promise<{ token: string; expiresIn: number; jti: string }> {
  const iss = issuerOf(deps.config);
  const iat = Math.floor(deps.clock.now() / 1000);
  const jti = randomId();
  const claims = { iss, aud: iss, ...body, jti, iat, exp: iat + expiresIn };
  const token = signJwt(claims, { typ: ACCESS_TOKEN_TYP, key: deps.keyring.signingKey() });
  return { token, expiresIn, jti };
}

/** The `gty` claim of a client-credentials token: the mark that it names a client, never a user. */
export const CLIENT_CREDENTIALS_GTY = 'client_credentials';

/**
 * Claims of a client-credentials access token (issue 14 §3): the same `typ`, issuer, audience and
 * keys as a user's access token, but `sub` = `client_id` = the client, `gty: "client_credentials"`,
 * and none of the user claims (`sid`, `did`, `username`, `roles`). `verifyAccessToken` refuses it:
 * nothing that reads user tokens takes it for a user's.
 */
export interface ClientAccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  scope: string;
  gty: typeof CLIENT_CREDENTIALS_GTY;
  jti: string;
  iat: number;
  exp: number;
}

/** Signs a client-credentials access token for `clientId` (`tokens.clientCredentialsTtlSec` long). */
export async function issueClientAccessToken(
  deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
  input: { clientId: string; scope: string },
): Promise<{ token: string; expiresIn: number; jti: string }> {
  return signAccessJwt<ClientAccessTokenClaims>(deps, deps.config.tokens.clientCredentialsTtlSec, {
    sub: input.clientId,
    client_id: input.clientId,
    scope: input.scope,
    gty: CLIENT_CREDENTIALS_GTY,
  });
}

function invalid(): GatehouseError {
  return new GatehouseError('invalid_token', { detail: 'The token is invalid or expired' });
}

const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * Verifies a client-credentials access token (issue 14 §3) exactly as `verifyAccessToken` verifies
 * a user's (EdDSA with our keys, `typ: at+jwt`, issuer and audience = the issuer URL, not expired),
 * then requires `gty: "client_credentials"`, `sub` = `client_id`, and none of the user claims: a
 * user's token, or one with any other `gty`, is `invalid_token` here. Does NOT check revocation
 * (a removed client, a revoked `jti`): the gateway does that from its revocation set and its
 * current-client check.
 */
export async function verifyClientAccessToken(deps: Pick<Deps, 'config' | 'keyring' | 'clock'>, token: string): Promise<ClientAccessTokenClaims> {
  const iss = issuerOf(deps.config);
  const p = await verifyJwt(token, {
    typ: ACCESS_TOKEN_TYP,
    issuer: iss,
    audience: iss,
    keyring: deps.keyring,
    clock: deps.clock,
    requiredClaims: ['sub', 'client_id', 'gty', 'jti', 'scope', 'iat'],
  });
  const { sub, client_id: clientId, gty, jti, scope, iat, exp } = p;
  if (
    gty !== CLIENT_CREDENTIALS_GTY || !isString(sub) || sub === '' || clientId !== sub || !isString(jti) || !isString(scope) ||
    typeof iat !== 'number' || typeof exp !== 'number' || p.aud !== iss ||
    // A token that also speaks for a user is not a client's.
    p.sid !== undefined || p.did !== undefined || p.username !== undefined || p.roles !== undefined
  ) {
    throw invalid();
  }
  return { iss, aud: iss, sub, client_id: sub, scope, gty: CLIENT_CREDENTIALS_GTY, jti, iat, exp };
}

/**
 * Whether a compact JWS says (unverified) that it is a client-credentials token: only to pick the
 * verifier, never to trust it. The verifier picked checks the signature and the `gty` again, so a
 * forged mark only sends a token to a verifier that refuses it.
 */
export function claimsClientCredentials(token: string): boolean {
  // Far above any token we mint: garbage is not decoded.
  if (token.length > 8 * 1024) return false;
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0) return false;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null && (payload as { gty?: unknown }).gty === CLIENT_CREDENTIALS_GTY;
  } catch {
    return false;
  }
}

/**
 * Verifies one of our access tokens: EdDSA with our keys, `typ: at+jwt`, issuer and audience =
 * the issuer URL, not expired (clock from deps), every claim present with its type. Throws
 * `GatehouseError('invalid_token')`; so is a client-credentials token (`gty`: it names no user). Does NOT check revocation (ended session, user not-before,
 * revoked jti): the gateway does that from its in-memory revocation set.
 */
export async function verifyAccessToken(deps: Pick<Deps, 'config' | 'keyring' | 'clock'>, token: string): Promise<AccessTokenClaims> {
  const iss = issuerOf(deps.config);
  const p = await verifyJwt(token, {
    typ: ACCESS_TOKEN_TYP,
    issuer: iss,
    audience: iss,
    keyring: deps.keyring,
    clock: deps.clock,
    requiredClaims: ['sub', 'sid', 'did', 'jti', 'scope', 'username', 'roles', 'iat'],
  });
  // A client-credentials token (or any other grant's mark) is never a user's token.
  if (p.gty !== undefined) throw invalid();
  const { sub, sid, did, jti, scope, username, roles, iat, exp } = p;
  const clientId = p.client_id ?? ACCESS_TOKEN_CLIENT_ID;
  if (
    !isString(sub) || !isString(sid) || !isString(did) || !isString(jti) || !isString(scope) || !isString(username) ||
    !Array.isArray(roles) || !roles.every(isString) || typeof iat !== 'number' || typeof exp !== 'number' || !isString(clientId) ||
    // A single audience: a token minted for several audiences is not one of ours.
    p.aud !== iss
  ) {
    throw invalid();
  }
  const claims: AccessTokenClaims = { iss, aud: iss, sub, client_id: clientId, scope, sid, did, jti, iat, exp, username, roles: [...roles] };
  // Optional (tokens minted before issue 17 lack them), but well-formed when present.
  const { amr, auth_time: authTime } = p;
  if (amr !== undefined) {
    if (!Array.isArray(amr) || !amr.every(isString)) throw invalid();
    claims.amr = [...amr];
  }
  if (authTime !== undefined) {
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) throw invalid();
    claims.auth_time = authTime;
  }
  return claims;
}
