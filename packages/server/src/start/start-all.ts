import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { startAdminService, startHomeService, startNotesService } from '@gatehouse/demo-services';
import { buildAuthService } from '../auth/auth-service.js';
import { issuerOf } from '../config/issuer.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { createGateway } from '../gateway/gateway.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { demoRoutes } from './demo-routes.js';
import { openDeps } from './open-deps.js';

export interface RunningGatehouse {
  /** Public gateway URL. */
  url: string;
  /** Absolute data directory. */
  dataDir: string;
  /** Internal URLs, for the start line and tests. */
  internal: Record<string, string>;
  deps: Deps;
  close(): Promise<void>;
}

const HOUR = 3600_000;
/** Must stay well below KEY_PUBLISH_AHEAD_MS of `keys rotate`. */
const KEY_RELOAD_MS = 30_000;

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`Port ${port} on ${host} is already in use. Stop the other program, or pick another port with GATEHOUSE_PORT (0 picks a free one).`));
      } else reject(err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen(server.address() as AddressInfo);
    });
  });
}

/**
 * `gatehouse start`: every part as its own HTTP server on loopback in this process, so even the
 * embedded default crosses a real HTTP hop between gateway and services. Only the gateway
 * port is public.
 */
export interface StartAllOptions {
  config: GatehouseConfig;
  logger?: Logger;
  clock?: Clock;
  /** How often signing keys are re-read from the store (ms; default 30 000). Tests of rotation shorten it. */
  keyReloadMs?: number;
  /**
   * JWKS refetch settings of the demo services' passport verifiers (SDK defaults otherwise).
   * A rotation test that publishes keys seconds ahead scales the cooldown down with it.
   */
  demoVerifier?: { jwksCooldownMs?: number; jwksCacheMaxAgeMs?: number };
}

export async function startAll(options: StartAllOptions): Promise<RunningGatehouse> {
  const config = structuredClone(options.config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const dataDir = resolve(config.dataDir);
  config.dataDir = dataDir;

  const cleanups: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, 'error while shutting down');
      }
    }
    cleanups.length = 0;
  };

  try {
    // Bind the public port first: the issuer and the Origin check need the real URL.
    const server = createServer({ maxHeaderSize: 16 * 1024 });
    server.keepAliveTimeout = 65_000;
    let ready = false;
    server.on('request', (_req, res) => {
      if (ready) return;
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      res.end(JSON.stringify({ type: 'urn:gatehouse:error:unavailable', title: 'Starting up', status: 503, detail: 'Gatehouse is starting; try again in a second.', code: 'unavailable' }));
    });
    const addr = await listen(server, config.port, config.host);
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    const localGatewayUrl = `http://${urlHost(config.host)}:${addr.port}`;
    config.port = addr.port;
    if (!config.publicUrl) config.publicUrl = localGatewayUrl;

    const opened = await openDeps(config, { logger, clock });
    cleanups.push(() => opened.close());
    const deps = opened.deps;

    const auth = await buildAuthService(deps);
    const authUrl = await auth.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => auth.close());

    const internal: Record<string, string> = { auth: authUrl };
    const routes = [...config.routes];
    if (config.demo) {
      const verifier = { ...options.demoVerifier, jwksUrl: `${localGatewayUrl}/.well-known/jwks.json`, issuer: issuerOf(config) };
      const [notes, home, admin] = await Promise.all([
        startNotesService({ verifier, dataDir, logger: false }),
        startHomeService({ verifier, logger: false }),
        startAdminService({ verifier, logger: false }),
      ]);
      for (const s of [notes, home, admin]) cleanups.push(() => s.close());
      Object.assign(internal, { notes: notes.url, home: home.url, admin: admin.url });
      routes.push(...demoRoutes({ notes: notes.url, home: home.url, admin: admin.url }));
    }

    const gateway = createGateway(deps, { authUrl, routes });
    cleanups.push(() => gateway.close());
    server.removeAllListeners('request');
    server.on('request', gateway.handler);
    ready = true;

    // Housekeeping: expired sessions, keys and revocation records. Never on a request path.
    const sweep = async () => {
      const now = clock.now();
      try {
        await deps.stores.sessions.deleteExpired(now);
        await deps.stores.keys.deleteExpired(now);
        await deps.stores.revocations.deleteExpired(now);
      } catch (err) {
        logger.warn({ err }, 'housekeeping failed; will retry');
      }
    };
    const timer = setInterval(() => void sweep(), HOUR);
    timer.unref();
    cleanups.push(() => clearInterval(timer));
    void sweep();

    // A key rotated by `gatehouse keys rotate` (another process) is published ahead of use;
    // re-reading keys well within that window means this process knows it before it signs.
    const keyTimer = setInterval(() => {
      deps.keyring.reload().catch((err: unknown) => logger.warn({ err }, 'could not re-read signing keys; keeping the ones in memory'));
    }, options.keyReloadMs ?? KEY_RELOAD_MS);
    keyTimer.unref();
    cleanups.push(() => clearInterval(keyTimer));

    return { url: config.publicUrl, dataDir, internal, deps, close };
  } catch (err) {
    await close();
    throw err;
  }
}
