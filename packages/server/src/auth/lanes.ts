import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { PassportAuth } from '@gatehouse/sdk';
import { GatehouseError } from '../errors/index.js';
import type { PassportHook } from './passport.js';
import { passportOf } from './passport.js';
import { ACCOUNT_SCOPE } from '../credentials/scope.js';

/**
 * Credential lanes (DESIGN §6): every route of the auth service declares, in its own file, which
 * credential kinds it accepts and which scopes each kind must carry, as the Fastify route option
 * `config.lane`. `installLanes` reads that declaration for every route as it is registered and
 * puts ONE check in front of the handler (verify the passport, then the lane); a route without a
 * declaration makes the service refuse to start.
 *
 * The credential kind is the passport's `auth` claim, set by the gateway from what the request
 * carried (cookie -> `session`, at+jwt -> `access_token`, `gh_…` -> `api_token`, an at+jwt of the
 * client-credentials grant -> `client`). A kind a lane does not name is refused, so a kind added
 * later is refused everywhere until an endpoint names it: no endpoint names `client` today.
 */

/** A credential kind, as the passport's `auth` claim names it. */
export type CredentialKind = PassportAuth;

/** What a kind must carry to pass a lane: every one of `scopes` (cookie sessions are not scoped: none). */
export interface KindRule {
  readonly scopes: readonly string[];
}

export type Lane =
  /** No credential: the gateway forwards no passport (sign-up, sign-in, the OAuth endpoints, health). */
  | { readonly public: true }
  /** A credential of one of these kinds, each with the scopes its rule names. */
  | { readonly accepts: Readonly<Partial<Record<CredentialKind, KindRule>>>; readonly hint?: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which credentials this route accepts (see lanes.ts); required on every route. */
    lane?: Lane;
  }
}

const NO_SCOPES: KindRule = { scopes: [] };
const ACCOUNT: KindRule = { scopes: [ACCOUNT_SCOPE] };

/** No credential at all. */
export const PUBLIC_LANE: Lane = { public: true };

/** Any signed-in credential, whatever its scopes (`GET /auth/me`). */
export const ANY_CREDENTIAL_LANE: Lane = { accepts: { session: NO_SCOPES, access_token: NO_SCOPES, api_token: NO_SCOPES } };

/**
 * The credential of one device: a browser session or an access token (a TV signs itself out).
 * An API token is no device session; it is retired with `POST /auth/revoke` or deleted.
 */
export const DEVICE_LANE: Lane = {
  accepts: { session: NO_SCOPES, access_token: NO_SCOPES },
  hint: 'An API token has no session to end: retire it with POST /auth/revoke or DELETE /auth/api-tokens/:id.',
};

/**
 * Account management (sessions, sign-out-all, password, API tokens, activity): a browser
 * session, or a token given the `account` scope (an access token of the first-party password
 * grant that asked for it, or an API token a browser session created with it).
 */
export const ACCOUNT_LANE: Lane = {
  accepts: { session: NO_SCOPES, access_token: ACCOUNT, api_token: ACCOUNT },
  hint: `Use a browser session, or a token with the "${ACCOUNT_SCOPE}" scope.`,
};

/**
 * Minting API tokens: a browser session, or an access token with the `account` scope (which
 * cannot give the new token the `account` scope). Never an API token, whatever its scopes:
 * a leaked script token must not mint more.
 */
export const MINT_API_TOKEN_LANE: Lane = {
  accepts: { session: NO_SCOPES, access_token: ACCOUNT },
  hint: `An API token cannot create API tokens; sign in, or use an access token with the "${ACCOUNT_SCOPE}" scope.`,
};

/**
 * How the user signs in (second factors, recovery codes, passkeys): a browser session, or an
 * access token with the `account` scope (an app's own account screen). Never an API token,
 * whatever its scopes: a leaked script token must not change, or remove, what protects the
 * account (the change still needs the password in the body).
 */
export const SIGN_IN_METHODS_LANE: Lane = {
  accepts: { session: NO_SCOPES, access_token: ACCOUNT },
  hint: `An API token cannot change how its owner signs in; sign in, or use an access token with the "${ACCOUNT_SCOPE}" scope.`,
};

/**
 * A person at a browser, signed in with the session cookie (whose writes the gateway holds to
 * the CSRF token): approving or denying a device (RFC 8628). Never a token: a TV or a script
 * must not approve devices, whatever its scopes.
 */
export const BROWSER_SESSION_LANE: Lane = {
  accepts: { session: NO_SCOPES },
  hint: 'Approve a device in a browser: open /device and sign in.',
};

/**
 * The admin API (`/auth/admin/*`, issue 18): a browser session only, whose writes the gateway
 * holds to the CSRF token. Never a token, not even an admin's: a leaked script or app token must
 * never act as admin; automation runs the `gatehouse` CLI on the server. The admin guard
 * (auth/admin/guard.ts) adds the role, recent-sign-in and write-limit checks behind it.
 */
export const ADMIN_LANE: Lane = {
  accepts: { session: NO_SCOPES },
  hint: 'The admin API takes a browser session only, an admin\'s tokens included: sign in at /signin, or run the gatehouse CLI on the server.',
};

const KIND_NAMES: Record<string, string> = {
  session: 'A browser session',
  access_token: 'An access token',
  api_token: 'An API token',
  client: 'A service client token',
};

function kindName(kind: string): string {
  return KIND_NAMES[kind] ?? `A credential of kind "${kind}"`;
}

/** A route as registered, with its lane (for the tests that walk every route). */
export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
  readonly lane: Lane;
  /** The route options as registered (schema, config): what the OpenAPI test compares the document with. */
  readonly options: RouteOptions;
}

const declared = new WeakMap<FastifyInstance, DeclaredRoute[]>();

/** Every route registered on `app` (and its plugins) since `installLanes`, with its lane. */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  return declared.get(app) ?? [];
}

/** The route's lane, if it declares one. */
export function laneOf(route: Pick<RouteOptions, 'config'>): Lane | undefined {
  return (route.config as { lane?: Lane } | undefined)?.lane;
}

/** The lane check itself: 403 `credential_not_allowed` for a kind the lane does not name, 403 `insufficient_scope` for a missing scope. */
export function checkLane(lane: Extract<Lane, { accepts: unknown }>, request: FastifyRequest): void {
  const passport = passportOf(request);
  const rule = Object.prototype.hasOwnProperty.call(lane.accepts, passport.auth) ? lane.accepts[passport.auth] : undefined;
  if (rule === undefined) {
    throw new GatehouseError('credential_not_allowed', {
      detail: `${kindName(passport.auth)} cannot call ${request.method} ${request.routeOptions.url ?? request.url}.${lane.hint ? ` ${lane.hint}` : ''}`,
      extra: { credential: passport.auth, accepted: Object.keys(lane.accepts) },
    });
  }
  if (rule.scopes.length === 0) return;
  const held = new Set((passport.scope ?? '').split(' '));
  const missing = rule.scopes.filter((s) => !held.has(s));
  if (missing.length === 0) return;
  const scope = missing.join(' ');
  throw new GatehouseError('insufficient_scope', {
    detail: `${kindName(passport.auth)} needs the scope "${scope}" to call ${request.method} ${request.routeOptions.url ?? request.url}.${lane.hint ? ` ${lane.hint}` : ''}`,
    // RFC 6750 §3.1.
    headers: { 'www-authenticate': `Bearer realm="gatehouse", error="insufficient_scope", scope="${scope}"` },
    extra: { scope },
  });
}

/**
 * Installs the one lane check on `app` (and every plugin registered on it afterwards): each route
 * must declare `config.lane`; a non-public one gets the passport hook and the lane check in
 * front of its own preHandlers. Call before registering any route.
 */
export function installLanes(app: FastifyInstance, authenticate: PassportHook): void {
  const routes: DeclaredRoute[] = [];
  declared.set(app, routes);
  app.addHook('onRoute', (route) => {
    const lane = laneOf(route);
    if (lane === undefined) {
      throw new Error(`${String(route.method)} ${route.url} declares no credential lane (route option config.lane; see auth/lanes.ts).`);
    }
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method, url: route.url, lane, options: route });
    if ('public' in lane) return;
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    const check = async (request: FastifyRequest): Promise<void> => {
      await authenticate(request);
      checkLane(lane, request);
    };
    route.preHandler = [check, ...own];
  });
}
