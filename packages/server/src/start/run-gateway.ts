import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { startAdminService, startHomeService, startNotesService } from '@gatehouse/demo-services';
import { ConfigError } from '../config/load-config.js';
import { issuerOf } from '../config/issuer.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { createGateway, type GatewayOptions } from '../gateway/gateway.js';
import type { InProcessService } from '../gateway/pipeline/proxy/proxy.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { demoRoutes } from './demo-routes.js';
import { openDeps, type OpenDepsOptions } from './open-deps.js';
import { ConnectionGuard, serverTimeoutOptions } from './connections.js';
import { publicDetail } from '../gateway/admin-access.js';
import { Cleanups, closeServer, listen, shareIssuer, startBackground, urlHost } from './role-support.js';

/** JWKS refetch settings of the demo services' passport verifiers (SDK defaults otherwise). */
export interface DemoVerifierOptions {
  jwksCooldownMs?: number;
  jwksCacheMaxAgeMs?: number;
}

export interface PublicServer {
  server: Server;
  /** http://host:port as bound (the public URL when none is configured). */
  localUrl: string;
  /** Caps, timeouts and the graceful drain of the public server. */
  guard: ConnectionGuard;
  /**
   * Binds the port when it is not bound yet (a fixed port is bound only once the gateway is
   * ready, so a restarting instance refuses connections instead of answering 503).
   */
  listen(): Promise<void>;
}

/** How long the public listener waits for the revocation set to warm up before opening anyway (ms). */
const READY_WAIT_MS = 10_000;

/**
 * Creates the public gateway server with the connection caps and timeouts of `config.gateway`.
 * A fixed port is bound by `listen()`, once the gateway is ready: until then a load balancer
 * sees "connection refused" and sends the request elsewhere. Port 0 is bound now (the issuer
 * and the Origin check need the real URL, and nobody knows the port before the start line);
 * a request that comes that early waits for the gateway instead of getting 503. Sets
 * `config.port` and, when unset, `config.publicUrl` to the local URL.
 */
export async function openPublicServer(config: GatehouseConfig, cleanups: Cleanups): Promise<PublicServer> {
  const g = config.gateway;
  const server = createServer({ maxHeaderSize: 16 * 1024, ...serverTimeoutOptions(g) });
  const guard = new ConnectionGuard(server, g);
  cleanups.push(() => closeServer(server));
  let bound = false;
  const bind = async () => {
    const addr = await listen(server, config.port, config.host);
    bound = true;
    config.port = addr.port;
  };
  if (config.port === 0) {
    let release!: () => void;
    const attached = new Promise<void>((r) => (release = r));
    server.on('request', (req, res) => {
      void attached.then(() => server.emit('request', req, res));
    });
    server.on('upgrade', (req, socket, head) => {
      void attached.then(() => server.emit('upgrade', req, socket, head));
    });
    server.once('gatehouse:attached', () => release());
    await bind();
  }
  const localUrl = `http://${urlHost(config.host)}:${config.port}`;
  if (!config.publicUrl) config.publicUrl = localUrl;
  return {
    server,
    localUrl,
    guard,
    listen: async () => {
      if (!bound) await bind();
    },
  };
}

/** The demo services' internal URLs. */
export interface DemoUrls {
  notes: string;
  home: string;
  admin: string;
}

/**
 * Starts the demo services in this process (they only need the gateway's key set, read in
 * process: fetching it from the public listener would fail while that listener drains on SIGTERM).
 */
export async function startDemoServices(deps: Deps, cleanups: Cleanups, demoVerifier?: DemoVerifierOptions): Promise<DemoUrls> {
  const verifier = { ...demoVerifier, jwks: async () => deps.keyring.jwks(), issuer: issuerOf(deps.config) };
  const [notes, home, admin] = await Promise.all([
    startNotesService({ verifier, dataDir: deps.config.dataDir, logger: false }),
    startHomeService({ verifier, logger: false }),
    startAdminService({ verifier, logger: false }),
  ]);
  for (const s of [notes, home, admin]) cleanups.push(() => s.close());
  return { notes: notes.url, home: home.url, admin: admin.url };
}

/**
 * Starts the demo services (when `demo` is on, unless `demoUrls` names running ones: the
 * workers of `gatehouse start --workers N` use the primary's), builds the gateway with the auth
 * service at `authUrl`, waits until its revocation set is loaded (the signing keys already are),
 * hands it the public server and opens the listener. Returns the internal URLs of the demo services.
 */
export async function attachGateway(
  deps: Deps,
  pub: PublicServer,
  options: { authUrl: string; authInProcess?: InProcessService; cleanups: Cleanups; demoVerifier?: DemoVerifierOptions; demoUrls?: DemoUrls; grantBudget?: GatewayOptions['grantBudget'] },
): Promise<Record<string, string>> {
  const config = deps.config;
  const { cleanups } = options;
  const internal: Record<string, string> = {};
  const routes = [...config.routes];
  if (config.demo) {
    const urls = options.demoUrls ?? (await startDemoServices(deps, cleanups, options.demoVerifier));
    Object.assign(internal, urls);
    routes.push(...demoRoutes(urls));
  }
  const gateway = createGateway(deps, { authUrl: options.authUrl, routes, draining: () => pub.guard.draining, ...(options.authInProcess ? { authInProcess: options.authInProcess } : {}), ...(options.grantBudget ? { grantBudget: options.grantBudget } : {}) });
  cleanups.push(() => gateway.close());
  if (!(await gateway.ready(READY_WAIT_MS))) {
    deps.logger.warn('the revocation set could not be loaded yet; opening anyway (bearer requests answer 503 until it is)');
  }
  if (config.adminPort !== null) {
    // /metrics and the detailed /readyz, off the public port (gateway/admin-access.ts).
    const admin = createServer(gateway.admin);
    const addr = await listen(admin, config.adminPort, config.adminHost, 'GATEHOUSE_ADMIN_PORT');
    cleanups.push(() => closeServer(admin));
    internal.metrics = `http://${urlHost(config.adminHost)}:${addr.port}`;
  } else if (config.metrics.bearerSecret === null && publicDetail(config) === 'closed') {
    deps.logger.warn(
      { event: 'metrics.off_public_port', host: config.host },
      'the gateway binds a non-loopback address: /metrics answers 404 and /readyz only {status} on the public port; set GATEHOUSE_ADMIN_PORT (an internal listener, loopback by default) or metrics.bearerSecret to read them',
    );
  }
  pub.server.removeAllListeners('request');
  pub.server.removeAllListeners('upgrade');
  pub.server.on('request', pub.guard.wrap(gateway.handler));
  // WebSocket upgrades: authenticated like any request, then proxied (gateway/pipeline/proxy/upgrade.ts).
  pub.server.on('upgrade', gateway.upgrade);
  // A graceful stop closes open WebSockets (1001) and event streams at once rather than after the
  // drain time: they never end by themselves, and their clients reconnect to another instance.
  pub.guard.onDrain(() => gateway.goingAway());
  pub.server.on('clientError', gateway.clientError);
  pub.server.emit('gatehouse:attached');
  await pub.listen();
  return internal;
}

/** Stops a role gracefully: drains `guard`'s server (up to `drainMs`), then runs the cleanups. */
export function drainThenClose(guard: ConnectionGuard, drainMs: number, cleanups: Cleanups): () => Promise<void> {
  return async () => {
    await guard.drain(drainMs);
    await cleanups.close();
  };
}

/** What the gateway role and `gatehouse start` (start-all.ts) take. */
export interface GatewayRoleOptions {
  config: GatehouseConfig;
  logger?: Logger;
  clock?: Clock;
  /** How often signing keys are re-read from the store (ms; default 30 000). Tests of rotation shorten it. */
  keyReloadMs?: number;
  /**
   * JWKS refetch settings of the demo services' passport verifiers (SDK defaults otherwise).
   * A rotation test that publishes keys seconds ahead scales the cooldown down with it.
   */
  demoVerifier?: DemoVerifierOptions;
  /** Store options (tests: a private PostgreSQL schema, a short feed poll; a cluster's feed relay and metrics). */
  openDeps?: OpenDepsOptions;
  /** Demo services already running elsewhere (a worker of `gatehouse start --workers N`: the primary's). */
  demoUrls?: DemoUrls;
}

export interface RunningGateway {
  /** Public gateway URL (`publicUrl`, else the bound address). */
  url: string;
  /** http://host:port as bound (differs from `url` behind a load balancer). */
  localUrl: string;
  /** Absolute data directory. */
  dataDir: string;
  /** Internal URLs (auth, demo services), for the start line and tests. */
  internal: Record<string, string>;
  /** The `stores:` start line. */
  storesLine: string;
  deps: Deps;
  /** Connection caps and drain state of the public server. */
  guard: ConnectionGuard;
  /** Graceful stop: drains the public server (up to `shutdown.drainTimeoutMs`), then closes everything. */
  close(): Promise<void>;
}

/**
 * `gatehouse gateway`: the public gateway alone (plus the demo services in process when `demo`
 * is on), forwarding /auth/* to `config.authUrl`. It reads the stores and the revocation feed
 * itself, so it goes on serving signed-in traffic while the auth service is away.
 */
export async function runGateway(options: GatewayRoleOptions): Promise<RunningGateway> {
  const config = structuredClone(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.log.format);
  const clock = options.clock ?? systemClock;
  const authUrl = config.authUrl;
  if (authUrl === null) {
    throw new ConfigError('gatehouse gateway needs the auth service: set GATEHOUSE_AUTH_URL (e.g. http://10.0.1.5:9000, the URL "gatehouse auth" printed).');
  }
  config.dataDir = resolve(config.dataDir);
  shareIssuer(config, logger);
  const cleanups = new Cleanups(logger);
  try {
    const pub = await openPublicServer(config, cleanups);
    const opened = await openDeps(config, { logger, clock, ...options.openDeps });
    cleanups.push(() => opened.close());
    const attach = { authUrl, cleanups, ...(options.demoVerifier ? { demoVerifier: options.demoVerifier } : {}), ...(options.demoUrls ? { demoUrls: options.demoUrls } : {}) };
    const internal = { auth: authUrl, ...(await attachGateway(opened.deps, pub, attach)) };
    startBackground(opened.deps, cleanups, options.keyReloadMs);
    const close = drainThenClose(pub.guard, config.shutdown.drainTimeoutMs, cleanups);
    return { url: config.publicUrl!, localUrl: pub.localUrl, dataDir: config.dataDir, internal, storesLine: opened.storesLine, deps: opened.deps, guard: pub.guard, close };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}
