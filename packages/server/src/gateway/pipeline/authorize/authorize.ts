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
    /** `role`, `scope`, or `client` (a service client the route does not name). */
    readonly kind: 'role' | 'scope' | 'client',
    /** The role or scope the caller lacks; for `client`, the client id the route does not name. */
    readonly missing: string,
  ) {
    super('forbidden', {
      detail:
        kind === 'role'
          ? `This route requires role ${missing}, which your account lacks. An administrator can grant it.`
          : kind === 'scope'
            ? `This route requires scope ${missing}, which your token lacks. Create a token with that scope.`
            : `This route does not accept calls from the service client ${missing}. An operator can add "${missing}" to the route's "clients" list in the Gatehouse config.`,
      extra: kind === 'role' ? { required_role: missing } : kind === 'scope' ? { required_scope: missing } : { client_id: missing },
    });
    this.name = 'AuthorizationRefusal';
  }
}

/**
 * Authorize. A user must hold every role of the route; a service client (`auth: "client"`) must be
 * named in the route's `clients` instead (roles do not apply to it: it holds none), except on the
 * auth service's own routes, whose lanes decide which kinds they take (auth/lanes.ts). Scopes (by
 * method, else `*`) apply to every token credential, clients' included; a cookie session has
 * every scope.
 */
export function authorize(route: CompiledRoute, identity: Identity, method: string): void {
  if (identity.auth === 'client') {
    if (!route.authService && !route.clients.has(identity.user.id)) throw new AuthorizationRefusal(route.label, identity.user.id, 'client', identity.user.id);
  } else {
    const roles = route.roles;
    for (let i = 0; i < roles.length; i++) {
      if (!identity.user.roles.includes(roles[i]!)) throw new AuthorizationRefusal(route.label, identity.user.id, 'role', roles[i]!);
    }
  }
  const scopes = identity.scopes;
  if (scopes === undefined || route.scopes === undefined) return;
  const needed = route.scopes[method] ?? route.scopes['*'];
  if (needed === undefined) return;
  for (const s of needed) if (!scopes.has(s)) throw new AuthorizationRefusal(route.label, identity.user.id, 'scope', s);
}
