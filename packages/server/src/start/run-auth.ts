import { resolve } from 'node:path';
import { buildAuthService } from '../auth/auth-service.js';
import type { GatehouseConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import type { InProcessService } from '../gateway/pipeline/proxy/proxy.js';
import { systemClock, type Clock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { ConnectionGuard } from './connections.js';
import { openDeps, type OpenDepsOptions } from './open-deps.js';
import { Cleanups, shareIssuer, startBackground, urlHost } from './role-support.js';

/**
 * Builds the auth service on `deps` and listens on host:port (0: a free port). `close()` stops
 * gracefully: no new connections, requests in flight finish (their answers say
 * `Connection: close`) for up to `shutdown.drainTimeoutMs`, then Fastify closes.
 */
export async function listenAuthService(deps: Deps, where: { port: number; host: string }): Promise<{ url: string; routing: InProcessService; close(): Promise<void> }> {
  const app = await buildAuthService(deps);
  // Before Fastify's own listener; Fastify would answer requests that come while it closes with 503.
  const guard = new ConnectionGuard(app.server);
  app.server.prependListener('request', guard.track);
  // Its /readyz (stores/health/readiness.ts) answers 503 `draining` from the moment the drain begins.
  deps.lifecycle = guard;
  try {
    await app.listen({ port: where.port, host: where.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`Port ${where.port} on ${where.host} is already in use. Pick another with --port or GATEHOUSE_AUTH_PORT (0 picks a free one).`);
    }
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : where.port;
  return {
    url: `http://${urlHost(where.host)}:${port}`,
    // Fastify's request handler, for a gateway in this process (gatehouse start): requests
    // handed to it directly are the public server's, drained by its guard before this one closes.
    routing: (req, res) => app.routing(req, res),
    close: async () => {
      await guard.drain(deps.config.shutdown.drainTimeoutMs);
      await app.close();
    },
  };
}

export interface AuthRoleOptions {
  config: GatehouseConfig;
  logger?: Logger;
  clock?: Clock;
  keyReloadMs?: number;
  openDeps?: OpenDepsOptions;
}

export interface RunningAuth {
  /** Where the auth service listens (give it to the gateways as GATEHOUSE_AUTH_URL). */
  url: string;
  dataDir: string;
  /** The `stores:` start line. */
  storesLine: string;
  deps: Deps;
  close(): Promise<void>;
}

/**
 * `gatehouse auth`: the auth service alone, on `config.host` (default 127.0.0.1) and
 * `config.authPort` (0: a free port). Reached only through the gateways.
 */
export async function runAuth(options: AuthRoleOptions): Promise<RunningAuth> {
  const config = structuredClone(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.log.format);
  const clock = options.clock ?? systemClock;
  config.dataDir = resolve(config.dataDir);
  shareIssuer(config, logger);
  const cleanups = new Cleanups(logger);
  try {
    const opened = await openDeps(config, { logger, clock, ...options.openDeps });
    cleanups.push(() => opened.close());
    const auth = await listenAuthService(opened.deps, { port: config.authPort, host: config.host });
    cleanups.push(() => auth.close());
    startBackground(opened.deps, cleanups, options.keyReloadMs);
    return { url: auth.url, dataDir: config.dataDir, storesLine: opened.storesLine, deps: opened.deps, close: cleanups.close };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}
