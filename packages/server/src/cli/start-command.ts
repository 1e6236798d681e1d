import type { GatehouseConfig } from '../config/types.js';
import { runAuth } from '../start/run-auth.js';
import { isClusterWorker, runWorker, startCluster, workerCount, type RunningCluster } from '../start/cluster.js';
import { runGateway } from '../start/run-gateway.js';
import { startAll } from '../start/start-all.js';
import { VERSION } from '../util/version.js';

/**
 * Prints the start lines, runs until SIGINT/SIGTERM, then stops gracefully (exit 0): `close`
 * drains requests in flight for up to `drainMs`. A second signal, or a stop that overruns the
 * drain by 5 s, exits at once with 1.
 */
async function serveUntilSignal(lines: string[], close: () => Promise<void>, what: string, drainMs: number): Promise<number> {
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write(`Received ${signal}, finishing requests in flight (up to ${Math.ceil(drainMs / 1000)} s; signal again to stop at once)...\n`);
      const now = () => {
        process.stderr.write('Stopped at once by a second signal.\n');
        process.exit(1);
      };
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  const force = setTimeout(() => {
    process.stderr.write(`Shutdown took over ${Math.ceil(drainMs / 1000) + 5} s; exiting anyway.\n`);
    process.exit(1);
  }, drainMs + 5_000);
  force.unref();
  await close();
  process.stdout.write(`${what} stopped.\n`);
  return 0;
}

function routesLine(config: GatehouseConfig): string {
  return [...config.routes.map((r) => r.path), ...(config.demo ? ['/api/notes', '/api/home', '/api/admin'] : [])].join(', ') || '(none: add routes with GATEHOUSE_CONFIG)';
}

function internalLine(internal: Record<string, string>): string {
  return Object.entries(internal)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** The `workers:` start line of a cluster; none for one process. */
function workersLine(running: { pids?: () => number[] }): string[] {
  if (!running.pids) return [];
  const pids = running.pids();
  return [`  workers:   ${pids.length} gateway processes on one port (pids ${pids.join(', ')}; primary ${process.pid})`];
}

/** The parts of a start line both ways of running have (one process, or a cluster). */
type Started = Pick<RunningCluster, 'url' | 'localUrl' | 'dataDir' | 'storesLine' | 'internal' | 'close'> & { pids?: () => number[] };

/** `gatehouse start`: every role in this process (embedded, or the scale-out single box); with --workers N, the gateway in N processes. */
export async function runStart(config: GatehouseConfig): Promise<number> {
  if (isClusterWorker()) return runWorker(config);
  const running: Started = workerCount(config) > 1 ? await startCluster({ config, role: 'start' }) : await startAll({ config });
  const lines = [
    `Gatehouse ${VERSION} is up at ${running.url}`,
    `  data:      ${running.dataDir}`,
    `  stores:    ${running.storesLine}`,
    `  routes:    ${routesLine(config)}`,
    ...workersLine(running),
    `  internal:  ${internalLine(running.internal)} (loopback only)`,
    `  sign in:   ${running.url}/signin   (create a user: ${running.url}/signup or "gatehouse users add <name>")`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse', config.shutdown.drainTimeoutMs);
}

/** `gatehouse gateway`: the public gateway alone, forwarding /auth/* to GATEHOUSE_AUTH_URL. */
export async function runGatewayCommand(config: GatehouseConfig): Promise<number> {
  if (isClusterWorker()) return runWorker(config);
  const running: Started = workerCount(config) > 1 ? await startCluster({ config, role: 'gateway' }) : await runGateway({ config });
  const { auth, ...demo } = running.internal;
  const lines = [
    `Gatehouse ${VERSION} is up at ${running.localUrl}`,
    ...(running.url !== running.localUrl ? [`  public:    ${running.url} (GATEHOUSE_PUBLIC_URL)`] : []),
    `  data:      ${running.dataDir}`,
    `  stores:    ${running.storesLine}`,
    `  routes:    ${routesLine(config)}`,
    ...workersLine(running),
    `  internal:  auth ${auth} (GATEHOUSE_AUTH_URL)${Object.keys(demo).length ? `, ${internalLine(demo)} (loopback only${running.pids ? ', in each worker' : ''})` : ''}`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse gateway', config.shutdown.drainTimeoutMs);
}

/** `gatehouse auth`: the auth service alone (give its URL to the gateways as GATEHOUSE_AUTH_URL). */
export async function runAuthCommand(config: GatehouseConfig): Promise<number> {
  const running = await runAuth({ config });
  const lines = [
    `Gatehouse auth service is up at ${running.url}`,
    `  stores:    ${running.storesLine}`,
    // On PostgreSQL the auth service keeps nothing on disk.
    ...(config.databaseUrl === null ? [`  data:      ${running.dataDir}`] : []),
    `  gateways:  GATEHOUSE_AUTH_URL=${running.url} gatehouse gateway (keep this port off the public network)`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse auth service', config.shutdown.drainTimeoutMs);
}
