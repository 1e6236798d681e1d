import type { GatehouseConfig } from '../config/types.js';
import { runAuth } from '../start/run-auth.js';
import { runGateway } from '../start/run-gateway.js';
import { startAll } from '../start/start-all.js';
import { VERSION } from './help.js';

/** Prints the start lines, runs until SIGINT/SIGTERM, then shuts down cleanly (exit 0). */
async function serveUntilSignal(lines: string[], close: () => Promise<void>, what: string): Promise<number> {
  process.stdout.write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stdout.write(`Received ${signal}, shutting down...\n`);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const force = setTimeout(() => {
    process.stderr.write('Shutdown took over 10 s; exiting anyway.\n');
    process.exit(1);
  }, 10_000);
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

/** `gatehouse start`: every role in this process (embedded, or the scale-out single box). */
export async function runStart(config: GatehouseConfig): Promise<number> {
  const running = await startAll({ config });
  const lines = [
    `Gatehouse ${VERSION} is up at ${running.url}`,
    `  data:      ${running.dataDir}`,
    `  stores:    ${running.storesLine}`,
    `  routes:    ${routesLine(running.deps.config)}`,
    `  internal:  ${internalLine(running.internal)} (loopback only)`,
    `  sign in:   ${running.url}/signin   (create a user: ${running.url}/signup or "gatehouse users add <name>")`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse');
}

/** `gatehouse gateway`: the public gateway alone, forwarding /auth/* to GATEHOUSE_AUTH_URL. */
export async function runGatewayCommand(config: GatehouseConfig): Promise<number> {
  const running = await runGateway({ config });
  const { auth, ...demo } = running.internal;
  const lines = [
    `Gatehouse ${VERSION} is up at ${running.localUrl}`,
    ...(running.url !== running.localUrl ? [`  public:    ${running.url} (GATEHOUSE_PUBLIC_URL)`] : []),
    `  data:      ${running.dataDir}`,
    `  stores:    ${running.storesLine}`,
    `  routes:    ${routesLine(running.deps.config)}`,
    `  internal:  auth ${auth} (GATEHOUSE_AUTH_URL)${Object.keys(demo).length ? `, ${internalLine(demo)} (loopback only)` : ''}`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse gateway');
}

/** `gatehouse auth`: the auth service alone (give its URL to the gateways as GATEHOUSE_AUTH_URL). */
export async function runAuthCommand(config: GatehouseConfig): Promise<number> {
  const running = await runAuth({ config });
  const lines = [
    `Gatehouse auth service is up at ${running.url}`,
    `  stores:    ${running.storesLine}`,
    `  data:      ${running.dataDir}`,
    `  gateways:  GATEHOUSE_AUTH_URL=${running.url} gatehouse gateway (keep this port off the public network)`,
    `  stop with Ctrl+C`,
  ];
  return serveUntilSignal(lines, running.close, 'Gatehouse auth service');
}
