import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { startAdminService, startHomeService, startNotesService } from '@gatehouse/demo-services';
import { ConfigError } from '../config/load-config.js';
import { issuerOf } from '../config/issuer.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { createGateway } from '../gateway/gateway.js';
import { systemClock } from '../util/clock.js';
import { createLogger } from '../util/logger.js';
import { demoRoutes } from './demo-routes.js';
import { openDeps } from './open-deps.js';
import { Cleanups, closeServer, listen, shareIssuer, startBackground, urlHost } from './role-support.js';
import type { StartAllOptions } from './start-all.js';

/** JWKS refetch settings of the demo services' passport verifiers (SDK defaults otherwise). */
export interface DemoVerifierOptions {
  jwksCooldownMs?: number;
  jwksCacheMaxAgeMs?: number;
}

export interface PublicServer {
  server: Server;
  /** http://host:port as bound (the public URL when none is configured). */
  localUrl: string;
}

/**
 * Binds the public gateway port first (the issuer and the Origin check need the real URL) and
 * answers 503 "starting" until `attachGateway` takes over. Sets `config.port` to the bound port
 * and `config.publicUrl` to the local URL when it was unset.
 */
export async function openPublicServer(config: GatehouseConfig, cleanups: Cleanups): Promise<PublicServer> {
  const server = createServer({ maxHeaderSize: 16 * 1024 });
  server.keepAliveTimeout = 65_000;
  server.on('request', (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
    res.end(JSON.stringify({ type: 'urn:gatehouse:error:unavailable', title: 'Starting up', status: 503, detail: 'Gatehouse is starting; try again in a second.', code: 'unavailable' }));
  });
  const addr = await listen(server, config.port, config.host);
  cleanups.push(() => closeServer(server));
  const localUrl = `http://${urlHost(config.host)}:${addr.port}`;
  config.port = addr.port;
  if (!config.publicUrl) config.publicUrl = localUrl;
  return { server, localUrl };
}

/**
 * Starts the demo services (when `demo` is on: they only need the gateway's JWKS), builds the
 * gateway with the auth service at `authUrl`, and hands it the public server. Returns the
 * internal URLs of the demo services.
 */
export async function attachGateway(
  deps: Deps,
  pub: PublicServer,
  options: { authUrl: string; cleanups: Cleanups; demoVerifier?: DemoVerifierOptions },
): Promise<Record<string, string>> {
  const config = deps.config;
  const { cleanups } = options;
  const internal: Record<string, string> = {};
  const routes = [...config.routes];
  if (config.demo) {
    const verifier = { ...options.demoVerifier, jwksUrl: `${pub.localUrl}/.well-known/jwks.json`, issuer: issuerOf(config) };
    const [notes, home, admin] = await Promise.all([
      startNotesService({ verifier, dataDir: config.dataDir, logger: false }),
      startHomeService({ verifier, logger: false }),
      startAdminService({ verifier, logger: false }),
    ]);
    for (const s of [notes, home, admin]) cleanups.push(() => s.close());
    Object.assign(internal, { notes: notes.url, home: home.url, admin: admin.url });
    routes.push(...demoRoutes({ notes: notes.url, home: home.url, admin: admin.url }));
  }
  const gateway = createGateway(deps, { authUrl: options.authUrl, routes });
  cleanups.push(() => gateway.close());
  pub.server.removeAllListeners('request');
  pub.server.on('request', gateway.handler);
  pub.server.on('clientError', gateway.clientError);
  return internal;
}

/** The gateway role takes what `gatehouse start` takes (start-all.ts documents each option). */
export type GatewayRoleOptions = StartAllOptions;

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
  close(): Promise<void>;
}

/**
 * `gatehouse gateway`: the public gateway alone (plus the demo services in process when `demo`
 * is on), forwarding /auth/* to `config.authUrl`. It reads the stores and the revocation feed
 * itself, so it goes on serving signed-in traffic while the auth service is away.
 */
export async function runGateway(options: GatewayRoleOptions): Promise<RunningGateway> {
  const config = structuredClone(options.config);
  const logger = options.logger ?? createLogger(config.logLevel);
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
    const internal = { auth: authUrl, ...(await attachGateway(opened.deps, pub, { authUrl, cleanups, ...(options.demoVerifier ? { demoVerifier: options.demoVerifier } : {}) })) };
    startBackground(opened.deps, cleanups, options.keyReloadMs);
    return { url: config.publicUrl!, localUrl: pub.localUrl, dataDir: config.dataDir, internal, storesLine: opened.storesLine, deps: opened.deps, close: cleanups.close };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}
