import { GatehouseError } from '../../../errors/index.js';
import type { Clock } from '../../../util/clock.js';
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
 * A 401 `insufficient_user_authentication` (RFC 9470): the route asks for a second factor
 * (`mfa: true`) or a recent sign-in (`maxAuthAgeSec`) that the credential does not show. The
 * challenge names the error and, for a step-up route, `max_age`; the body says which (`required`).
 * The respond stage sends a page navigation of a cookie session to re-authentication instead.
 */
export class StepUpRefusal extends GatehouseError {
  constructor(
    readonly route: string,
    readonly userId: string,
    /** `mfa`: amr lacks `mfa`; `max_age`: auth_time too old (or unknown). */
    readonly required: 'mfa' | 'max_age',
    readonly maxAgeSec: number | undefined,
    /** Whether a re-authentication on the session could meet it (a cookie session); else a new sign-in or another credential. */
    readonly session: boolean,
  ) {
    const description =
      required === 'mfa' ? 'A sign-in with a second factor or a passkey is required' : `A sign-in within the last ${maxAgeSec} seconds is required`;
    super('insufficient_user_authentication', {
      detail:
        required === 'mfa'
          ? 'This route needs a sign-in with a second factor or a passkey. API tokens and service tokens are never enough; re-authenticate (POST /auth/reauth) or sign in again with a second factor.'
          : `This route needs a sign-in within the last ${maxAgeSec} seconds. Re-authenticate (POST /auth/reauth) or sign in again.`,
      extra: maxAgeSec === undefined ? { required } : { required, max_age: maxAgeSec },
      headers: {
        'www-authenticate': `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="${description}"${maxAgeSec === undefined ? '' : `, max_age=${maxAgeSec}`}`,
      },
    });
    this.name = 'StepUpRefusal';
  }
}

/**
 * How the user signed in, held to the route (issue 17): `mfa: true` wants `mfa` in the amr,
 * `maxAuthAgeSec` an auth_time within that many seconds of `nowSec`. A credential with no sign-in
 * (API token, service client, an access token minted before amr existed) never passes either.
 */
export function checkAuthentication(route: CompiledRoute, identity: Identity, nowSec: number): void {
  const maxAge = route.maxAuthAgeSec;
  if (!route.mfa && maxAge === undefined) return;
  const session = identity.auth === 'session';
  if (route.mfa && (identity.amr === undefined || !identity.amr.includes('mfa'))) {
    throw new StepUpRefusal(route.label, identity.user.id, 'mfa', maxAge, session);
  }
  if (maxAge !== undefined && (identity.authTime === undefined || nowSec - identity.authTime > maxAge)) {
    throw new StepUpRefusal(route.label, identity.user.id, 'max_age', maxAge, session);
  }
}

/**
 * Authorize. A user must hold every role of the route; a service client (`auth: "client"`) must be
 * named in the route's `clients` instead (roles do not apply to it: it holds none), except on the
 * auth service's own routes, whose lanes decide which kinds they take (auth/lanes.ts). Scopes (by
 * method, else `*`) apply to every token credential, clients' included; a cookie session has
 * every scope. Then how the user signed in (`checkAuthentication`): a missing role is 403 first,
 * since no re-authentication would give it.
 */
export function authorize(route: CompiledRoute, identity: Identity, method: string, clock: Clock): void {
  if (identity.auth === 'client') {
    if (!route.authService && !route.clients.has(identity.user.id)) throw new AuthorizationRefusal(route.label, identity.user.id, 'client', identity.user.id);
  } else {
    const roles = route.roles;
    for (let i = 0; i < roles.length; i++) {
      if (!identity.user.roles.includes(roles[i]!)) throw new AuthorizationRefusal(route.label, identity.user.id, 'role', roles[i]!);
    }
  }
  const scopes = identity.scopes;
  if (scopes !== undefined && route.scopes !== undefined) {
    const needed = route.scopes[method] ?? route.scopes['*'];
    if (needed !== undefined) for (const s of needed) if (!scopes.has(s)) throw new AuthorizationRefusal(route.label, identity.user.id, 'scope', s);
  }
  if (route.mfa || route.maxAuthAgeSec !== undefined) checkAuthentication(route, identity, Math.floor(clock.now() / 1000));
}
