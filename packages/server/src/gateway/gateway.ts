import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { publicDir as webPublicDir, vendorFiles as webVendorFiles } from '@gatehouse/web';
import { cookieNames } from '../config/cookie-names.js';
import { isHttps } from '../config/issuer.js';
import type { RouteConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import { parseRevokedHeader } from '../credentials/revocation.js';
import { AccessLog } from './access-log.js';
import { guardPublicDetail } from './admin-access.js';
import { authRoutes } from './auth-routes.js';
import { ClientIpResolver } from './client-ip.js';
import { CorsPolicy } from './cors.js';
import { Exchange } from './exchange.js';
import { HostPolicy } from './host-policy.js';
import { localEndpoints, type LocalHandler } from './local-endpoints.js';
import { LiveConnections } from './live-connections.js';
import { GatewayMetrics, type RouteMetrics } from './metrics.js';
import { Pages } from './pages.js';
import { AuthenticatorRegistry } from './pipeline/authenticate/registry.js';
import { csrfOrigins } from './pipeline/csrf/csrf.js';
import { compileStripRules } from './pipeline/headers.js';
import { PassportCache } from './pipeline/passport/passport-cache.js';
import { Pipeline } from './pipeline/pipeline.js';
import { Proxy, type InProcessService, type ProxyObserver } from './pipeline/proxy/proxy.js';
import { GrantGate, type GrantBudgetOptions } from './pipeline/proxy/grant-budget.js';
import { UpgradeProxy } from './pipeline/proxy/upgrade.js';
import { Refusals } from './pipeline/respond/refusals.js';
import type { DroppedResponseHeader } from './pipeline/respond/relay.js';
import { HSTS, clientErrorResponse, sendProblem } from './pipeline/respond/respond.js';
import { RevocationSet } from './revocation-set.js';
import { RouteTable, compileRoute, routingPath, type CompiledRoute } from './routing.js';

export interface GatewayOptions {
  /** Base URL of the internal auth service. */
  authUrl: string;
  /**
   * The auth service's request handler when it runs in this process, on this event loop
   * (`gatehouse start`, not a lone gateway nor --workers): /auth requests are handed to it
   * without the loopback hop (pipeline/proxy/proxy.ts InProcessService), and token grants are
   * held to `gateway.grantSharePercent` of the loop while others are served
   * (pipeline/proxy/grant-budget.ts).
   */
  authInProcess?: InProcessService;
  /** Routes of the config file and the demo services (the /auth routes are added here). */
  routes: RouteConfig[];
  /** Folder of the web pages (default: `@gatehouse/web`'s publicDir); tests pass placeholders. */
  publicDir?: string;
  /** Whether the process is stopping (SIGTERM): /readyz then answers 503 at once. */
  draining?: () => boolean;
  /** Tests: the grant budget's window, saturation, bounds or clock (the share is the config's). */
  grantBudget?: Omit<GrantBudgetOptions, 'share'>;
}

export interface Gateway {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * The http.Server's `upgrade` listener: a WebSocket upgrade on a routed path runs the pipeline
   * like any request and is then proxied (pipeline/proxy/upgrade.ts); any other upgrade without
   * a body is served as an ordinary request (its Upgrade ignored, RFC 9110 §7.8).
   */
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Graceful stop begins: open WebSockets are closed with 1001 and event streams ended (live-connections.ts). */
  goingAway(): void;
  /** Open WebSockets and streaming answers registered for live revocation now. */
  liveConnections(): number;
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
 * The public entry on bare node:http: routing, then the pipeline of routed requests
 * (pipeline/pipeline.ts: strip → authenticate → csrf → authorize → body → passport → proxy →
 * respond), plus the endpoints the gateway answers itself. The caller owns the http.Server and
 * has resolved `deps.config.publicUrl`.
 */
export function createGateway(deps: Deps, opts: GatewayOptions): Gateway {
  const gw = new GatewayImpl(deps, opts);
  return {
    handler: gw.handler,
    upgrade: gw.upgrade,
    goingAway: () => gw.live.goingAway(),
    liveConnections: () => gw.live.size,
    clientError: gw.clientError,
    ready: (waitMs) => gw.ready(waitMs),
    admin: gw.admin,
    close: () => gw.close(),
  };
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
  private readonly hsts: boolean;
  private readonly revocations: RevocationSet;
  private readonly authenticators: AuthenticatorRegistry;
  private readonly passports: PassportCache;
  private readonly proxy: Proxy;
  /** Open WebSockets and streaming answers, by credential, for live revocation. */
  readonly live: LiveConnections;
  private readonly refusals: Refusals;
  private readonly draining: () => boolean;
  /** strip → authenticate → csrf → authorize → body → passport → proxy → respond (pipeline/pipeline.ts). */
  private readonly pipeline: Pipeline;
  /** `log.access`: undefined when off (the hot path then checks one field). */
  private readonly access: AccessLog | undefined;

  constructor(
    private readonly deps: Deps,
    opts: GatewayOptions,
  ) {
    const config = deps.config;
    const cors = new CorsPolicy(config);
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
    this.pages = new Pages(opts.publicDir ?? webPublicDir, webVendorFiles);
    // x-passport is always dropped (headers.ts); the list adds the configured identity headers.
    const stripRules = compileStripRules(config.gateway.stripHeaders);
    const publicUrl = new URL(config.publicUrl!);
    const names = cookieNames(config);
    this.access = config.log.access ? new AccessLog(deps.logger) : undefined;
    this.refusals = new Refusals(deps, { routeMetrics: this.routeMetrics, unmatched: this.unmatchedMetrics, access: this.access, cookies: names, https: this.hsts });
    this.passports = new PassportCache(deps);
    // One in-memory revocation set, fed by deps.feed and warmed from the store; every
    // credential cache hears of revocations through it.
    this.revocations = new RevocationSet(deps);
    this.authenticators = new AuthenticatorRegistry({
      deps,
      revocations: this.revocations,
      dropPassports: (sid) => this.passports.drop(sid),
      countDegraded: this.metrics.countDegraded,
    });
    this.proxy = new Proxy(config, deps.logger, this, stripRules);
    // After the authenticators: the credential caches hear of an event before the live check runs.
    this.live = new LiveConnections(deps, this.authenticators.chain, this.revocations);
    this.proxy.live = this.live;
    this.proxy.authInProcess = opts.authInProcess;
    const grantShare = config.gateway.grantSharePercent / 100;
    if (opts.authInProcess !== undefined && grantShare < 1) {
      const proxy = this.proxy;
      proxy.grants = new GrantGate({ ...opts.grantBudget, share: grantShare }, (ex) => proxy.sendInProcess(ex), this, this.metrics.grantObserver);
    }
    this.draining = opts.draining ?? (() => false);
    const upgrader = new UpgradeProxy({
      logger: deps.logger,
      observer: this,
      identityRules: stripRules,
      hsts: this.hsts,
      connectTimeoutMs: config.gateway.upstreamConnectTimeoutMs,
      headersTimeoutMs: config.gateway.upstreamHeadersTimeoutMs,
      idleTimeoutMs: config.gateway.websocketIdleTimeoutMs,
      live: this.live,
    });
    this.pipeline = new Pipeline({
      stripRules,
      stripOpts: {
        proto: publicUrl.protocol.slice(0, -1),
        defaultHost: publicUrl.host,
        hosts: new HostPolicy(config),
        cookies: names,
        clientIp: new ClientIpResolver(config.gateway.trustedProxies, config.gateway.clientIpHeader),
      },
      cors,
      chain: this.authenticators.chain,
      origins: csrfOrigins(config, cors),
      passports: this.passports,
      proxy: this.proxy,
      upgrader,
      refusals: this.refusals,
      access: this.access,
      clock: deps.clock,
    });
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
      this.refusals.fail(req, res, err, this.unmatchedMetrics);
      return;
    }
    if (pending !== undefined) pending.catch((err: unknown) => this.refusals.fail(req, res, err, this.unmatchedMetrics));
  };

  readonly upgrade = (req: IncomingMessage, duplex: Duplex, head: Buffer): void => {
    const socket = duplex as Socket;
    // An answer on the upgrade's socket, as the server would give it for an ordinary request.
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => {
      res.detachSocket(socket);
      socket.destroySoon();
    });
    socket.once('error', () => socket.destroy());
    if (!isWebSocketUpgrade(req.headers.upgrade)) {
      // Not ours to switch to (h2c, TLS): ignored, the request served as it is, when it has no body.
      const h = req.headers;
      if (h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')) {
        this.refusals.fail(req, res, new GatehouseError('invalid_request', { detail: 'This gateway upgrades only to WebSocket.' }), this.unmatchedMetrics);
        return;
      }
      this.handler(req, res);
      return;
    }
    if (this.hsts) res.setHeader('strict-transport-security', HSTS);
    if (this.access !== undefined) this.access.begin(req, res);
    if (this.draining()) {
      this.refusals.fail(req, res, new GatehouseError('unavailable', { detail: 'This gateway is stopping; connect again.', headers: { 'retry-after': '1' } }), this.unmatchedMetrics);
      return;
    }
    let pending: Promise<void> | void;
    try {
      pending = this.handle(req, res, head);
    } catch (err) {
      this.refusals.fail(req, res, err, this.unmatchedMetrics);
      return;
    }
    if (pending !== undefined) pending.catch((err: unknown) => this.refusals.fail(req, res, err, this.unmatchedMetrics));
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
    this.live.goingAway();
    this.live.close();
    this.authenticators.close();
    this.revocations.close();
    this.passports.clear();
    this.metrics.close();
    this.proxy.grants?.close();
    await this.proxy.close();
  }

  /** `upgrade`: the bytes after the head of a WebSocket upgrade (undefined for an ordinary request). */
  private handle(req: IncomingMessage, res: ServerResponse, upgrade?: Buffer): Promise<void> | void {
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
    if (upgrade !== undefined) {
      if (!route.websocket) {
        throw new GatehouseError('websocket_disabled', { detail: 'This route does not take WebSocket connections.' });
      }
      // RFC 6455 §4.1: the opening handshake is a GET.
      if (req.method !== 'GET') throw new GatehouseError('method_not_allowed', { detail: 'A WebSocket upgrade is a GET.', headers: { allow: 'GET' } });
      ex.upgrade = upgrade;
      ex.upgradeProtocol = req.headers.upgrade!;
    }
    return this.pipeline.run(ex);
  }

  private async serveLocal(req: IncomingMessage, res: ServerResponse, path: string, local: LocalHandler | undefined): Promise<void> {
    try {
      if (local !== undefined) await local(req, res);
      else await this.pages.serve(req, res, path);
      this.localMetrics.count('ok');
    } catch (err) {
      this.refusals.fail(req, res, err, this.localMetrics);
    }
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

/** Whether an `Upgrade` header asks for WebSocket (RFC 6455 §4.1: the token `websocket`, any case). */
function isWebSocketUpgrade(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === 'websocket';
}

/** How many Host headers came (any case). */
function hostCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++;
  return n;
}
