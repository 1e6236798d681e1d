import { resolve } from 'node:path';
import { systemClock } from '../util/clock.js';
import { createLogger } from '../util/logger.js';
import { openDeps } from './open-deps.js';
import { Cleanups, shareIssuer, startBackground } from './role-support.js';
import { listenAuthService } from './run-auth.js';
import type { GatewayOptions } from '../gateway/gateway.js';
import { attachGateway, drainThenClose, openPublicServer, type GatewayRoleOptions, type RunningGateway } from './run-gateway.js';

/** What `gatehouse start` runs: the same shape as a lone gateway role (it is one, plus auth). */
export type RunningGatehouse = RunningGateway;

/** `gatehouse start` takes what the gateway role takes (run-gateway.ts documents each option). */
export type StartAllOptions = GatewayRoleOptions & {
  /** Tests: the grant budget's window, saturation, bounds (gateway/pipeline/proxy/grant-budget.ts). */
  grantBudget?: GatewayOptions['grantBudget'];
};

/**
 * `gatehouse start`: every part as its own HTTP server on loopback in this process, so even the
 * embedded default crosses a real HTTP hop between gateway and services — except the auth
 * service, whose handler the gateway calls directly with the request (no loopback hop for a
 * token grant; its loopback listener stays for probes). Only the gateway port is public. With `databaseUrl` / `redisUrl` it is the scale-out single box: the same
 * roles as `gatehouse auth` + `gatehouse gateway`, sharing one set of store connections.
 */
export async function startAll(options: StartAllOptions): Promise<RunningGatehouse> {
  const config = structuredClone(options.config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.log.format);
  config.dataDir = resolve(config.dataDir);
  // Instances sharing a database must agree on the issuer (DESIGN §6): without a public URL,
  // each one's own URL would be its issuer and its tokens refused by the others.
  if (config.databaseUrl !== null) shareIssuer(config, logger);
  const cleanups = new Cleanups(logger);
  try {
    const pub = await openPublicServer(config, cleanups);
    const opened = await openDeps(config, { logger, clock, ...options.openDeps });
    cleanups.push(() => opened.close());
    const deps = opened.deps;
    const auth = await listenAuthService(deps, { port: 0, host: '127.0.0.1' });
    cleanups.push(() => auth.close());
    const internal = { auth: auth.url, ...(await attachGateway(deps, pub, { authUrl: auth.url, cleanups, authInProcess: auth.routing, ...(options.grantBudget ? { grantBudget: options.grantBudget } : {}), ...(options.demoVerifier ? { demoVerifier: options.demoVerifier } : {}) })) };
    startBackground(deps, cleanups, options.keyReloadMs);
    // The public server drains first (its requests to the auth service included), then the rest closes.
    const close = drainThenClose(pub.guard, config.shutdown.drainTimeoutMs, cleanups);
    return { url: config.publicUrl!, localUrl: pub.localUrl, dataDir: config.dataDir, internal, storesLine: opened.storesLine, deps, guard: pub.guard, close };
  } catch (err) {
    await cleanups.close();
    throw err;
  }
}
