import type { JWTPayload } from 'jose';
import type { ClientPassportClaims, PassportAuth, PassportClaims, UserPassportAuth, UserPassportClaims } from './claims.js';
import { PassportError } from './errors.js';

const AUTH_KINDS: ReadonlySet<string> = new Set<PassportAuth>(['session', 'access_token', 'api_token', 'client']);

function malformed(message: string): PassportError {
  return new PassportError('passport_malformed', message);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function optionalString(payload: JWTPayload, name: 'scope' | 'sid' | 'did'): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed(`${name} must be a string`);
  return value;
}

/**
 * Shape checks on a payload whose signature, iss, aud, typ and times jose has already verified.
 * Returns a frozen copy holding only the passport's claims; throws `passport_malformed` otherwise.
 */
export function toPassportClaims(payload: JWTPayload): PassportClaims {
  const { iss, aud, sub, iat, exp, jti, username, roles, auth } = payload;
  if (!isNonEmptyString(iss)) throw malformed('iss must be a string');
  if (!isNonEmptyString(aud)) throw malformed('aud must be a single string');
  if (!isNonEmptyString(sub)) throw malformed('sub must be a non-empty string');
  if (typeof iat !== 'number' || typeof exp !== 'number') throw malformed('iat and exp must be numbers');
  if (!isNonEmptyString(jti)) throw malformed('jti must be a non-empty string');
  if (!Array.isArray(roles) || !roles.every((r): r is string => typeof r === 'string')) {
    throw malformed('roles must be an array of strings');
  }
  if (typeof auth !== 'string' || !AUTH_KINDS.has(auth)) throw malformed('auth is not a known kind');
  const scope = optionalString(payload, 'scope');

  if (auth === 'client') {
    // A service calling as itself: no user, so nothing a user-minded check could mistake for one.
    if (payload.client_id !== sub) throw malformed('client_id must equal sub in a client passport');
    if (username !== undefined || payload.sid !== undefined || payload.did !== undefined) {
      throw malformed('a client passport carries no username, sid or did');
    }
    if (roles.length !== 0) throw malformed('a client passport carries no roles');
    const claims: ClientPassportClaims = { iss, aud, sub, iat, exp, jti, client_id: sub, roles: Object.freeze([]) as unknown as string[], auth };
    if (scope !== undefined) claims.scope = scope;
    return Object.freeze(claims);
  }

  if (typeof username !== 'string') throw malformed('username must be a string');
  const claims: UserPassportClaims = {
    iss,
    aud,
    sub,
    iat,
    exp,
    jti,
    username,
    roles: Object.freeze([...roles]) as string[],
    auth: auth as UserPassportAuth,
  };
  const sid = optionalString(payload, 'sid');
  const did = optionalString(payload, 'did');
  if (scope !== undefined) claims.scope = scope;
  if (sid !== undefined) claims.sid = sid;
  if (did !== undefined) claims.did = did;
  return Object.freeze(claims);
}
