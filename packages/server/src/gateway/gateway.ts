import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { publicDir as webPublicDir } from '@gatehouse/web';
import { cookieNames } from '../config/cookie-names.js';
import { isHttps } from '../config/issuer.js';
import type { RouteConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import { parseRevokedHeader } from '../credentials/revocation.js';
import { noteRefusal } from '../stores/health/outage-log.js';
import { AccessLog, isLoggedRefusal, pathOnly } from './access-log.js';
import { guardPublicDetail } from './admin-access.js';
import { authRoutes } from './auth-routes.js';
import { ClientIpResolver } from './client-ip.js';
import { CorsPolicy } from './cors.js';
import { checkCsrf, checkLoginCsrf, CsrfRefusal, csrfOrigins, type CsrfOrigins } from './csrf.js';
import { Exchange } from './exchange.js';
import { HostPolicy } from './host-policy.js';
import { localEndpoints, type LocalHandler } from './local-endpoints.js';
import { GatewayMetrics, type RouteMetrics } from './metrics.js';
import { Pages } from './pages.js';
import { AccessTokenVerifier } from './pipeline/authenticate/access-token.js';
import { CurrentUsers } from './pipeline/authenticate/current-user.js';
import { ApiTokenVerifier } from './pipeline/authenticate/api-token.js';
import { BearerAuthenticator } from './pipeline/authenticate/bearer.js';
import { runChain } from './pipeline/authenticate/chain.js';
import { InvalidSessionCookieError, unauthenticated } from './pipeline/authenticate/errors.js';
import { SessionCookieAuthenticator } from './pipeline/authenticate/session-cookie.js';
import type { Authenticator, Identity } from './pipeline/authenticate/types.js';
import { AuthorizationRefusal, authorize } from './pipeline/authorize/authorize.js';
import { PassportCache } from './pipeline/passport/passport-cache.js';
import { Proxy, checkBody, type ProxyObserver } from './pipeline/proxy/proxy.js';
import { compileStripRules, strip, type DroppedResponseHeader, type StripOptions, type StripRules } from './pipeline/strip/strip.js';
import { HSTS, clientErrorResponse, sendProblem, sendRedirect } from './respond.js';
import { RevocationSet } from './revocation-set.js';
import { RouteTable, compileRoute, routingPath, signinLocation, type CompiledRoute } from './routing.js';

export interface GatewayOptions {
  /** Base URL of the internal auth service. */
  authUrl: string;
  /** Routes of the config file and the demo services (the /auth routes are added here). */
  routes: RouteConfig[];
  /** Folder of the web pages (default: `@gatehouse/web`'s publicDir); tests pass placeholders. */
  publicDir?: string;
  /** Whether the process is stopping (SIGTERM): /readyz then answers 503 at once. */
  draining?: () => boolean;
}

export interface Gateway {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** The http.Server's `clientError` listener: requests Node's parser refused (400/431) as problem+json, connection closed. */
  clientError: (err: Error & { code?: string }, socket: Duplex) => void;
  /** Resolves true once the revocation set is loaded (retrying a failed read), false after `waitMs`. */
  ready(waitMs: number): Promise<boolean>;
  /** The admin listener's handler (`adminPort`): GET/HEAD /metrics, /readyz (in full) and /healthz. */
  admin: (req: IncomingMessage, res: ServerResponse) => void;
  close(): Promise<void>;
}

const UNMATCHED = '(unmatched)';

/**
 * The public entry on bare node:http: strip -> authenticate -> (csrf) -> authorize -> passport
 * -> proxy, plus the endpoints the gateway answers itself. The caller owns the http.Server and
 * has resolved `deps.config.publicUrl`.
 */
export function createGateway(deps: Deps, opts: GatewayOptions): Gateway {
  const gw = new GatewayImpl(deps, opts);
  return { handler: gw.handler, clientError: gw.clientError, ready: (waitMs) => gw.ready(waitMs), admin: gw.admin, close: () => gw.close() };
}

class GatewayImpl implements ProxyObserver {
  private readonly table: RouteTable;
  private readonly routeMetrics = new Map<CompiledRoute, RouteMetrics>();
  private readonly metrics = new GatewayMetrics();
  private readonly local: Map<string, LocalHandler>;
  /** /metrics, /readyz and /healthz in full, for the admin listener. */
  private readonly adminLocal: Map<string, LocalHandler>;
  private readonly localMetrics: RouteMetrics;
  private readonly unmatchedMetrics: RouteMetrics;
  private readonly pages: Pages;
  private readonly stripRules: StripRules;
  private readonly stripOpts: StripOptions;
  private readonly origins: CsrfOrigins;
  private readonly cors: CorsPolicy;
  private readonly hsts: boolean;
  private readonly clearCookies: string[];
  private readonly revocations: RevocationSet;
  private readonly sessions: SessionCookieAuthenticator;
  private readonly apiTokens: ApiTokenVerifier;
  private readonly chain: Authenticator[];
  private readonly passports: PassportCache;
  private readonly proxy: Proxy;
  /** `log.access`: undefined when off (the hot path then checks one field). */
  private readonly access: AccessLog | undefined;

  constructor(
    private readonly deps: Deps,
    opts: GatewayOptions,
  ) {
    const config = deps.config;
    this.cors = new CorsPolicy(config);
    this.origins = csrfOrigins(config, this.cors);
    this.hsts = isHttps(config);
    const max = config.gateway.maxBodyBytes;
    const compiled = [...authRoutes(opts.authUrl).map((r) => compileRoute(r, max, true)), ...opts.routes.map((r) => compileRoute(r, max))];
    this.table = new RouteTable(compiled);
    for (const r of compiled) this.routeMetrics.set(r, this.metrics.forRoute(r.label, true));
    this.localMetrics = this.metrics.forRoute('(gateway)', false);
    this.unmatchedMetrics = this.metrics.forRoute(UNMATCHED, false);
    const state = { revocationsReady: () => this.revocations.ready, ...(opts.draining ? { draining: opts.draining } : {}) };
    const full = localEndpoints(deps, this.metrics, state);
    this.adminLocal = new Map(['/metrics', '/readyz', '/healthz'].map((p) => [p, full.get(p)!]));
    this.local = guardPublicDetail(full, localEndpoints(deps, this.metrics, { ...state, bareReadyz: true }).get('/readyz')!, config);
    this.metrics.watchState({ feedMode: deps.feedMode ?? (() => 'in-process'), hotCache: deps.hotCache });
    this.metrics.watchHealth(deps.stores.health);
    this.pages = new Pages(opts.publicDir ?? webPublicDir);
    // x-passport is always dropped (strip.ts); the list adds the configured identity headers.
    this.stripRules = compileStripRules(config.gateway.stripHeaders);
    const publicUrl = new URL(config.publicUrl!);
    const names = cookieNames(config);
    this.stripOpts = {
      proto: publicUrl.protocol.slice(0, -1),
      defaultHost: publicUrl.host,
      hosts: new HostPolicy(config),
      cookies: names,
      clientIp: new ClientIpResolver(config.gateway.trustedProxies, config.gateway.clientIpHeader),
    };
    const attrs = `Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax${this.hsts ? '; Secure' : ''}`;
    this.clearCookies = [`${names.session}=; ${attrs}; HttpOnly`, `${names.csrf}=; ${attrs}`];
    this.passports = new PassportCache(deps);
    // One in-memory revocation set, fed by deps.feed and warmed from the store; every
    // credential cache hears of revocations through it.
    this.revocations = new RevocationSet(deps);
    this.sessions = new SessionCookieAuthenticator(deps, this.revocations, (sid) => this.passports.drop(sid), this.metrics.countDegraded);
    this.apiTokens = new ApiTokenVerifier(deps, this.revocations, this.metrics.countDegraded);
    const bearer = new BearerAuthenticator(this.revocations, new AccessTokenVerifier(deps, this.revocations, new CurrentUsers(deps, this.metrics.countDegraded)), this.apiTokens);
    // Bearer first: when a bearer token and a cookie both come, the bearer token decides.
    this.chain = [bearer, this.sessions];
    this.proxy = new Proxy(config, deps.logger, this, this.stripRules);
    this.access = config.log.access ? new AccessLog(deps.logger) : undefined;
  }

  readonly handler = (req: IncomingMessage, res: ServerResponse): void => {
    // Every answer on https, the gateway's own and proxied ones alike (proxy.ts restates it).
    if (this.hsts) res.setHeader('strict-transport-security', HSTS);
    if (this.access !== undefined) this.access.begin(req, res);
    // Synchronous when every stage is (cached credential, cached passport): no promise per request.
    let pending: Promise<void> | void;
    try {
      pending = this.handle(req, res);
    } catch (err) {
      this.fail(req, res, err, this.unmatchedMetrics);
      return;
    }
    if (pending !== undefined) pending.catch((err: unknown) => this.fail(req, res, err, this.unmatchedMetrics));
  };

  readonly admin = (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const handler = this.adminLocal.get(q < 0 ? target : target.slice(0, q));
    const run = async (): Promise<void> => {
      if (handler === undefined) throw new GatehouseError('not_found', { detail: 'The admin listener serves /metrics, /readyz and /healthz.' });
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new GatehouseError('method_not_allowed', { detail: 'Use GET.', headers: { allow: 'GET, HEAD' } });
      await handler(req, res);
    };
    run().catch((err: unknown) => {
      if (!res.headersSent) sendProblem(req, res, err);
      else res.destroy();
    });
  };

  async ready(waitMs: number): Promise<boolean> {
    const deadline = this.deps.clock.now() + waitMs;
    for (;;) {
      const warm = this.revocations.whenReady();
      if (warm === null) return true;
      try {
        await warm;
        return true;
      } catch {
        if (this.deps.clock.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async close(): Promise<void> {
    this.sessions.close();
    this.apiTokens.close();
    this.revocations.close();
    this.passports.clear();
    this.metrics.close();
    await this.proxy.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const target = req.url ?? '';
    // Origin-form only: "*", absolute-form and anything else never reach routing.
    if (target.charCodeAt(0) !== 47) throw new GatehouseError('invalid_request', { detail: 'The request target must be a path.' });
    const q = target.indexOf('?');
    const path = routingPath(q < 0 ? target : target.slice(0, q));
    if (typeof path !== 'string') throw path;

    const local = this.local.get(path);
    if (local !== undefined || Pages.handles(path)) {
      // Routed requests are checked by strip; these by one more scan (they are not the hot path).
      if (hostCount(req.rawHeaders) > 1) throw new GatehouseError('invalid_request', { detail: 'The request has more than one Host header.' });
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new GatehouseError('method_not_allowed', { detail: 'Use GET.', headers: { allow: 'GET, HEAD' } });
      }
      if (this.access !== undefined) this.access.note(res, '(gateway)');
      return this.serveLocal(req, res, path, local);
    }

    const route = this.table.match(path);
    if (route === undefined) throw new GatehouseError('not_found', { detail: 'No route serves this path.' });
    if (req.method === 'TRACE' || req.method === 'CONNECT') {
      throw new GatehouseError('method_not_allowed', { detail: 'This method is not allowed.' });
    }
    if (this.access !== undefined) this.access.note(res, route.label);
    const ex = new Exchange(req, res, route, target);
    strip(ex, this.stripRules, this.stripOpts);
    if (req.method === 'OPTIONS' && ex.preflightMethod !== undefined && ex.origin !== undefined) {
      this.preflight(ex);
      return;
    }
    if (this.cors.enabled) {
      res.setHeader('vary', 'Origin');
      const allowed = this.cors.actualHeaders(ex.origin);
      if (allowed !== undefined) for (const k in allowed) res.setHeader(k, allowed[k]!);
    }
    let pending: Promise<void> | void;
    try {
      pending = this.run(ex);
    } catch (err) {
      this.refuse(ex, err);
      return;
    }
    if (pending !== undefined) return pending.catch((err: unknown) => this.refuse(ex, err));
  }

  private async serveLocal(req: IncomingMessage, res: ServerResponse, path: string, local: LocalHandler | undefined): Promise<void> {
    try {
      if (local !== undefined) await local(req, res);
      else await this.pages.serve(req, res, path);
      this.localMetrics.count('ok');
    } catch (err) {
      this.fail(req, res, err, this.localMetrics);
    }
  }

  /**
   * authenticate -> csrf -> authorize -> body checks -> passport -> proxy. Returns a promise only
   * when a stage had to wait (a store read, a passport being signed); throws or rejects with the
   * refusal.
   */
  private run(ex: Exchange): Promise<void> | void {
    if (ex.route.auth === 'none') return this.admit(ex, null);
    const r = runChain(this.chain, ex);
    return r instanceof Promise ? r.then((identity) => this.admit(ex, identity)) : this.admit(ex, r);
  }

  private admit(ex: Exchange, identity: Identity | null): Promise<void> | void {
    const route = ex.route;
    if (route.auth !== 'none') {
      if (identity === null) {
        if (route.auth === 'required' || route.roles.length > 0) throw unauthenticated();
      } else {
        ex.identity = identity;
        checkCsrf(ex, this.origins);
        authorize(route, identity, ex.req.method ?? 'GET');
      }
    }
    if (route.loginCsrf) checkLoginCsrf(ex, this.origins);
    const hasBody = checkBody(ex);
    if (ex.identity === null) return this.send(ex, hasBody, undefined);
    const p = this.passports.get(ex.identity, route.service);
    return typeof p === 'string' ? this.send(ex, hasBody, p) : p.then((passport) => this.send(ex, hasBody, passport));
  }

  private send(ex: Exchange, hasBody: boolean, passport: string | undefined): void {
    if (passport !== undefined) ex.headers.push('x-passport', passport);
    if (this.access !== undefined && ex.identity !== null) this.access.note(ex.res, ex.route.label, ex.identity.user.id);
    // The client may have left while we were busy; don't start an upstream call for nobody.
    if (ex.res.destroyed) return;
    this.proxy.forward(ex, hasBody);
  }

  /**
   * A CORS preflight to a routed path, answered by the gateway (never forwarded): 204 with the
   * allow headers for an allow-listed origin, else 403 `cors` without any CORS header.
   */
  private preflight(ex: Exchange): void {
    const metrics = this.routeMetrics.get(ex.route) ?? this.unmatchedMetrics;
    const headers = this.cors.preflightHeaders(ex.origin);
    if (headers === undefined) {
      this.fail(ex.req, ex.res, new GatehouseError('cors', { detail: 'This origin may not call this API from a browser.' }), metrics);
      return;
    }
    if (!ex.req.complete) ex.res.setHeader('connection', 'close');
    ex.res.writeHead(204, headers);
    ex.res.end();
    metrics.count('cors_preflight');
  }

  readonly clientError = (err: Error & { code?: string }, socket: Duplex): void => {
    const s = socket as Duplex & { bytesWritten?: number };
    // Nothing sensible to say on a reset socket or after part of an answer went out.
    if (err.code !== 'ECONNRESET' && s.writable && (s.bytesWritten ?? 0) === 0) {
      s.end(clientErrorResponse(err.code, this.hsts), () => s.destroy());
      return;
    }
    s.destroy();
  };

  /** A refusal before the upstream call: problem+json, or the sign-in redirect for pages. */
  private refuse(ex: Exchange, err: unknown): void {
    const { req, res } = ex;
    const metrics = this.routeMetrics.get(ex.route) ?? this.unmatchedMetrics;
    const clear = err instanceof InvalidSessionCookieError ? { 'set-cookie': this.clearCookies } : undefined;
    if (this.access !== undefined && ex.identity !== null) this.access.note(res, ex.route.label, ex.identity.user.id);
    if (err instanceof GatehouseError && (err.code === 'unauthenticated' || err.code === 'invalid_token') && this.isPageRequest(ex)) {
      if (res.headersSent || res.destroyed) return;
      sendRedirect(res, signinLocation(ex.target, err instanceof InvalidSessionCookieError), clear);
      metrics.count('redirect_signin');
      return;
    }
    this.fail(req, res, err, metrics, clear);
  }

  private isPageRequest(ex: Exchange): boolean {
    const m = ex.req.method;
    return (m === 'GET' || m === 'HEAD') && ex.accept !== undefined && ex.accept.toLowerCase().includes('text/html');
  }

  /** Last resort for anything thrown: problem+json, logged when it is ours to fix. */
  private fail(req: IncomingMessage, res: ServerResponse, err: unknown, metrics: RouteMetrics, headers?: Record<string, string | string[]>): void {
    try {
      const code = err instanceof GatehouseError ? err.code : 'internal';
      if (code === 'internal') this.deps.logger.error({ err, method: req.method }, 'gateway error');
      // A store outage is logged once per state change by stores.health, not per request.
      else if (code === 'unavailable' && !noteRefusal(this.deps.stores.health, this.deps.logger, err)) this.deps.logger.warn({ err }, 'a part needed for a request is unavailable');
      else if (isLoggedRefusal(err instanceof GatehouseError ? err.status : 500)) {
        // 401, 403, 429, 503: at info with their code, the route and the path (never the query).
        const refused = { event: 'http.refused', code, status: (err as GatehouseError).status, method: req.method, path: pathOnly(req.url), route: metrics.route };
        // The operator sees which origin came and which was expected (a page opened at another address).
        if (err instanceof CsrfRefusal) this.deps.logger.info({ ...refused, reason: err.reason, origin: err.origin ?? null, expected: err.expected }, 'cross-site request refused');
        // The operator sees who was refused where, and which role or scope to grant.
        else if (err instanceof AuthorizationRefusal) this.deps.logger.info({ ...refused, route: err.route, user_id: err.userId, [`missing_${err.kind}`]: err.missing }, 'request refused: missing ' + err.kind);
        else this.deps.logger.info(refused, 'request refused');
      } else this.deps.logger.debug({ code }, 'request refused');
      sendProblem(req, res, err, headers);
      metrics.count(code);
    } catch (fatal) {
      this.deps.logger.error({ err: fatal }, 'could not answer a request');
      res.destroy();
    }
  }

  upstreamAnswered(ex: Exchange, status: number, seconds: number): void {
    const m = this.routeMetrics.get(ex.route);
    if (m === undefined) return;
    m.countUpstream(status);
    m.latency?.observe(seconds);
  }

  /**
   * A sign-out (or any revocation) this gateway proxied: its caches drop the credential now,
   * before the answer is relayed, whatever the state of the feed (issue 11 item 17).
   */
  authRevoked(_ex: Exchange, header: string): void {
    for (const event of parseRevokedHeader(header)) this.revocations.record(event);
  }

  /** Routes whose upstream had a header dropped, logged once each (the metric counts every time). */
  private readonly droppedLogged = new Set<CompiledRoute>();

  upstreamHeaderDropped(ex: Exchange, kind: DroppedResponseHeader, name: string): void {
    this.metrics.countDroppedResponseHeader(ex.route.label, kind);
    if (this.droppedLogged.has(ex.route)) return;
    this.droppedLogged.add(ex.route);
    // The header or cookie name only, never its value (it may be a credential).
    this.deps.logger.warn(
      { route: ex.route.label, service: ex.route.service, kind, name },
      'an upstream answer tried to set a Gatehouse cookie or an identity header; dropped (logged once per route, counted in gatehouse_gateway_upstream_headers_dropped_total)',
    );
  }

  gatewayAnswered(ex: Exchange, _status: number, code: string): void {
    this.routeMetrics.get(ex.route)?.count(code);
    if (code === 'unavailable' && ex.route.authService) this.metrics.countDegraded('auth_service_unavailable');
  }
}

/** How many Host headers came (any case). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}
