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
