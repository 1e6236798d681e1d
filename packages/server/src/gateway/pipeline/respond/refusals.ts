import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CookieNames } from '../../../config/cookie-names.js';
import type { Deps } from '../../../context.js';
import { GatehouseError } from '../../../errors/index.js';
import { noteRefusal } from '../../../stores/health/outage-log.js';
import { isLoggedRefusal, pathOnly, type AccessLog } from '../../access-log.js';
import type { Exchange } from '../../exchange.js';
import type { RouteMetrics } from '../../metrics.js';
import { reauthLocation, signinLocation, type CompiledRoute } from '../../routing.js';
import { CredentialRefusal, InvalidSessionCookieError } from '../authenticate/errors.js';
import { AuthorizationRefusal, StepUpRefusal } from '../authorize/authorize.js';
import { CsrfRefusal } from '../csrf/csrf.js';
import { sendProblem, sendRedirect } from './respond.js';

/** The challenge of a refusal without a credential (RFC 6750 §3). */
export const BARE_CHALLENGE = 'Bearer realm="gatehouse"';
/** The challenge of a refused credential. */
export const INVALID_TOKEN_CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';

/** What the respond stage needs; built once per gateway. */
export interface RefusalOptions {
  /** Per-route counters (the routes of the table) and the one for anything else. */
  routeMetrics: ReadonlyMap<CompiledRoute, RouteMetrics>;
  unmatched: RouteMetrics;
  /** `log.access`, when on. */
  access: AccessLog | undefined;
  cookies: CookieNames;
  /** The public URL is https: the clearing cookies carry `Secure`. */
  https: boolean;
}

/**
 * The respond stage for refusals: the one place that turns what a stage threw into an answer
 * (as Oathkeeper's `pipeline/errors` handlers do), counts it and logs it. Two answers:
 * - redirect: a page request (GET/HEAD accepting text/html) refused for want of a valid
 *   credential goes to the sign-in page (with `reason=signed_out` for an ended session);
 * - problem: everything else is problem+json (RFC 9457), with the `WWW-Authenticate` challenge
 *   the authenticate stage asked for.
 * Either clears the session and CSRF cookies when the session cookie was refused.
 */
export class Refusals {
  /** Extra headers per kind of refusal, made once (no object per refused request). */
  private readonly bare: Record<string, string>;
  private readonly invalid: Record<string, string>;
  private readonly invalidCookie: Record<string, string | string[]>;
  private readonly clear: Record<string, string[]>;

  constructor(
    private readonly deps: Deps,
    private readonly opts: RefusalOptions,
  ) {
    const attrs = `Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax${opts.https ? '; Secure' : ''}`;
    const clearCookies = [`${opts.cookies.session}=; ${attrs}; HttpOnly`, `${opts.cookies.csrf}=; ${attrs}`];
    this.bare = { 'www-authenticate': BARE_CHALLENGE };
    this.invalid = { 'www-authenticate': INVALID_TOKEN_CHALLENGE };
    this.invalidCookie = { 'www-authenticate': INVALID_TOKEN_CHALLENGE, 'set-cookie': clearCookies };
    this.clear = { 'set-cookie': clearCookies };
  }

  /** The counters of a route (those of unmatched requests for a route the table does not know). */
  metricsOf(route: CompiledRoute): RouteMetrics {
    return this.opts.routeMetrics.get(route) ?? this.opts.unmatched;
  }

  /** A refusal of a routed request before the upstream call (any stage from authenticate to passport). */
  refuse(ex: Exchange, err: unknown): void {
    const { req, res } = ex;
    const metrics = this.metricsOf(ex.route);
    const access = this.opts.access;
    if (access !== undefined && ex.identity !== null) access.note(res, ex.route.label, ex.identity.user.id);
    const signedOut = err instanceof InvalidSessionCookieError;
    if (err instanceof StepUpRefusal && err.session && isPageRequest(ex)) {
      // A browser page whose sign-in is too old or too weak: re-authenticate on the same session, then back here.
      if (res.headersSent || res.destroyed) return;
      sendRedirect(res, reauthLocation(ex.target, err.required === 'mfa'));
      metrics.count('redirect_reauth');
      return;
    }
    if (err instanceof GatehouseError && (err.code === 'unauthenticated' || err.code === 'invalid_token') && isPageRequest(ex)) {
      if (res.headersSent || res.destroyed) return;
      sendRedirect(res, signinLocation(ex.target, signedOut), signedOut ? this.clear : undefined);
      metrics.count('redirect_signin');
      return;
    }
    const headers = err instanceof CredentialRefusal ? (signedOut ? this.invalidCookie : err.challenge === 'bare' ? this.bare : this.invalid) : undefined;
    this.fail(req, res, err, metrics, headers);
  }

  /** A CORS preflight the policy refused (403 `cors`, without any CORS header), or its 204. */
  preflight(ex: Exchange, headers: Readonly<Record<string, string | number>> | undefined): void {
    const metrics = this.metricsOf(ex.route);
    if (headers === undefined) {
      this.fail(ex.req, ex.res, new GatehouseError('cors', { detail: 'This origin may not call this API from a browser.' }), metrics);
      return;
    }
    if (!ex.req.complete) ex.res.setHeader('connection', 'close');
    ex.res.writeHead(204, headers);
    ex.res.end();
    metrics.count('cors_preflight');
  }

  /** Anything thrown, routed or not: problem+json, counted, and logged when an operator wants to see it. */
  fail(req: IncomingMessage, res: ServerResponse, err: unknown, metrics: RouteMetrics, headers?: Record<string, string | string[]>): void {
    try {
      const code = err instanceof GatehouseError ? err.code : 'internal';
      this.log(req, err, code, metrics);
      sendProblem(req, res, err, headers);
      metrics.count(code);
    } catch (fatal) {
      this.deps.logger.error({ err: fatal }, 'could not answer a request');
      res.destroy();
    }
  }

  /** The refusal log lines: errors at error, store outages once per state change, 401/403/429/503 at info, the rest at debug. */
  private log(req: IncomingMessage, err: unknown, code: string, metrics: RouteMetrics): void {
    const logger = this.deps.logger;
    if (code === 'internal') logger.error({ err, method: req.method }, 'gateway error');
    // A store outage is logged once per state change by stores.health, not per request.
    else if (code === 'unavailable' && !noteRefusal(this.deps.stores.health, logger, err)) logger.warn({ err }, 'a part needed for a request is unavailable');
    else if (isLoggedRefusal(err instanceof GatehouseError ? err.status : 500)) {
      // 401, 403, 429, 503: at info with their code, the route and the path (never the query).
      const refused = { event: 'http.refused', code, status: (err as GatehouseError).status, method: req.method, path: pathOnly(req.url), route: metrics.route };
      // The operator sees which origin came and which was expected (a page opened at another address).
      if (err instanceof CsrfRefusal) logger.info({ ...refused, reason: err.reason, origin: err.origin ?? null, expected: err.expected }, 'cross-site request refused');
      // The operator sees who was refused where, and which role or scope to grant.
      // A service client the route does not name: which client, so the operator can add it to `clients`.
      else if (err instanceof AuthorizationRefusal && err.kind === 'client') logger.info({ ...refused, route: err.route, client_id: err.missing }, 'request refused: client not named by the route');
      else if (err instanceof StepUpRefusal) logger.info({ ...refused, route: err.route, user_id: err.userId, required: err.required }, 'request refused: a stronger or more recent sign-in is required');
      else if (err instanceof AuthorizationRefusal) logger.info({ ...refused, route: err.route, user_id: err.userId, [`missing_${err.kind}`]: err.missing }, 'request refused: missing ' + err.kind);
      else logger.info(refused, 'request refused');
    } else logger.debug({ code }, 'request refused');
  }
}

/** A browser navigating to a page: refused for a credential, it is better served by the sign-in page than by JSON. */
function isPageRequest(ex: Exchange): boolean {
  const m = ex.req.method;
  return (m === 'GET' || m === 'HEAD') && ex.accept !== undefined && ex.accept.toLowerCase().includes('text/html');
}
