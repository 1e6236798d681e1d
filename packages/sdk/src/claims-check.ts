import type { JWTPayload } from 'jose';
import type { PassportAuth, PassportClaims } from './claims.js';

const AUTH_KINDS: ReadonlySet<string> = new Set<PassportAuth>(['session', 'access_token', 'api_token']);

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function optionalString(payload: JWTPayload, name: 'scope' | 'sid' | 'did'): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}

/**
 * Shape checks on a payload whose signature, iss, aud, typ and times jose has already verified.
 * Returns a frozen copy holding only the passport's claims.
 */
export function toPassportClaims(payload: JWTPayload): PassportClaims {
  const { iss, aud, sub, iat, exp, jti, username, roles, auth } = payload;
  if (!isNonEmptyString(iss)) throw new Error('iss must be a string');
  if (!isNonEmptyString(aud)) throw new Error('aud must be a single string');
  if (!isNonEmptyString(sub)) throw new Error('sub must be a non-empty string');
  if (typeof iat !== 'number' || typeof exp !== 'number') throw new Error('iat and exp must be numbers');
  if (!isNonEmptyString(jti)) throw new Error('jti must be a non-empty string');
  if (typeof username !== 'string') throw new Error('username must be a string');
  if (!Array.isArray(roles) || !roles.every((r): r is string => typeof r === 'string')) {
    throw new Error('roles must be an array of strings');
  }
  if (typeof auth !== 'string' || !AUTH_KINDS.has(auth)) throw new Error('auth is not a known kind');

  const claims: PassportClaims = {
    iss,
    aud,
    sub,
    iat,
    exp,
    jti,
    username,
    roles: Object.freeze([...roles]) as string[],
    auth: auth as PassportAuth,
  };
  const scope = optionalString(payload, 'scope');
  const sid = optionalString(payload, 'sid');
  const did = optionalString(payload, 'did');
  if (scope !== undefined) claims.scope = scope;
  if (sid !== undefined) claims.sid = sid;
  if (did !== undefined) claims.did = did;
  return Object.freeze(claims);
}
