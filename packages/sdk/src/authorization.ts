import type { PassportClaims } from './claims.js';
import { PassportError } from './errors.js';

export function hasRole(claims: PassportClaims, role: string): boolean {
  return Array.isArray(claims.roles) && claims.roles.includes(role);
}

/** Throws a `PassportError` with code `forbidden` unless the passport carries `role`. */
export function requireRole(claims: PassportClaims, role: string): void {
  if (!hasRole(claims, role)) throw new PassportError('forbidden', `role ${role} required`);
}

/**
 * Whether the passport's space-separated `scope` grants `scope`. Only token credentials
 * (`auth` of `access_token`/`api_token`) carry scopes: a session passport has none, so this is
 * false for it; check `claims.auth` first if sessions should pass.
 */
export function hasScope(claims: PassportClaims, scope: string): boolean {
  if (typeof claims.scope !== 'string' || scope === '') return false;
  return claims.scope.split(' ').includes(scope);
}

/** What `requireAuthentication` asks of how the user signed in. */
export interface AuthenticationRequirement {
  /** The sign-in proved a second factor or a passkey: `amr` holds `mfa`. */
  mfa?: boolean;
  /** The user authenticated (signed in or re-authenticated) at most this many seconds ago (`auth_time`). */
  maxAgeSec?: number;
  /** Now, in ms (default `Date.now()`); tests pass a fixed clock. */
  now?: number;
}

/** Whether the passport's sign-in meets `requirement` (see `requireAuthentication`). */
export function meetsAuthentication(claims: PassportClaims, requirement: AuthenticationRequirement): boolean {
  return authenticationShortfall(claims, requirement) === undefined;
}

function authenticationShortfall(claims: PassportClaims, requirement: AuthenticationRequirement): 'mfa' | 'max_age' | undefined {
  if (requirement.mfa === true && !(Array.isArray(claims.amr) && claims.amr.includes('mfa'))) return 'mfa';
  const maxAge = requirement.maxAgeSec;
  if (maxAge !== undefined) {
    const nowSec = Math.floor((requirement.now ?? Date.now()) / 1000);
    if (typeof claims.auth_time !== 'number' || nowSec - claims.auth_time > maxAge) return 'max_age';
  }
  return undefined;
}

/**
 * Throws a `PassportError` with code `insufficient_user_authentication` (401) unless the user
 * signed in as the service needs: with a second factor or a passkey (`mfa: true`: `amr` holds
 * `mfa`) and/or within `maxAgeSec` seconds (`auth_time`). A passport with no sign-in (an API
 * token's, a service client's) never passes. `refusalFor(err)` gives the RFC 9470 answer
 * (`WWW-Authenticate: Bearer error="insufficient_user_authentication"`, with `max_age`), which the
 * gateway relays; the gateway itself can enforce the same per route (`mfa`, `maxAuthAgeSec`).
 */
export function requireAuthentication(claims: PassportClaims, requirement: AuthenticationRequirement): void {
  const missing = authenticationShortfall(claims, requirement);
  if (missing === undefined) return;
  const err = new PassportError(
    'insufficient_user_authentication',
    missing === 'mfa' ? 'a sign-in with a second factor is required' : 'a more recent sign-in is required',
  );
  err.required = missing;
  if (requirement.maxAgeSec !== undefined) err.maxAgeSec = requirement.maxAgeSec;
  throw err;
}
