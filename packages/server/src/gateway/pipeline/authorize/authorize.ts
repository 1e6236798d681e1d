import { GatehouseError } from '../../../errors/index.js';
import type { CompiledRoute } from '../../routing.js';
import type { Identity } from '../authenticate/types.js';

/**
 * A 403 `forbidden` from a route's roles or scopes, with what the operator needs in the log:
 * the route, the user and what is missing (issue 12). The caller's detail names it too.
 */
export class AuthorizationRefusal extends GatehouseError {
  constructor(
    /** The route's label (its path prefix). */
    readonly route: string,
    readonly userId: string,
    /** `role` or `scope`. */
    readonly kind: 'role' | 'scope',
    /** The role or scope the caller lacks. */
    readonly missing: string,
  ) {
    super('forbidden', {
      detail: kind === 'role' ? `This route requires role ${missing}, which your account lacks. An administrator can grant it.` : `This route requires scope ${missing}, which your token lacks. Create a token with that scope.`,
      extra: kind === 'role' ? { required_role: missing } : { required_scope: missing },
    });
    this.name = 'AuthorizationRefusal';
  }
}

/**
 * Authorize. Every role of the route must be held; scopes (by method, else `*`) apply only to
 * token credentials; a cookie session has every scope.
 */
export function authorize(route: CompiledRoute, identity: Identity, method: string): void {
  const roles = route.roles;
  for (let i = 0; i < roles.length; i++) {
    if (!identity.user.roles.includes(roles[i]!)) throw new AuthorizationRefusal(route.label, identity.user.id, 'role', roles[i]!);
  }
  const scopes = identity.scopes;
  if (scopes === undefined || route.scopes === undefined) return;
  const needed = route.scopes[method] ?? route.scopes['*'];
  if (needed === undefined) return;
  for (const s of needed) if (!scopes.has(s)) throw new AuthorizationRefusal(route.label, identity.user.id, 'scope', s);
}
