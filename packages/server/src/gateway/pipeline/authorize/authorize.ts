import { GatehouseError } from '../../../errors/index.js';
import type { CompiledRoute } from '../../routing.js';
import type { Identity } from '../authenticate/types.js';

function forbidden(detail: string): GatehouseError {
  return new GatehouseError('forbidden', { detail });
}

/**
 * Stage 3. Every role of the route must be held; scopes (by method, else `*`) apply only to
 * token credentials; a cookie session has every scope.
 */
export function authorize(route: CompiledRoute, identity: Identity, method: string): void {
  const roles = route.roles;
  for (let i = 0; i < roles.length; i++) {
    if (!identity.user.roles.includes(roles[i]!)) throw forbidden('Your account lacks a role this route needs.');
  }
  const scopes = identity.scopes;
  if (scopes === undefined || route.scopes === undefined) return;
  const needed = route.scopes[method] ?? route.scopes['*'];
  if (needed === undefined) return;
  for (const s of needed) if (!scopes.has(s)) throw forbidden(`The token lacks the scope "${s}".`);
}
