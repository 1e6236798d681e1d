import type { GatehouseConfig } from '../config/types.js';
import { startAll } from '../start/start-all.js';
import { VERSION } from './help.js';

/** `gatehouse start`: runs until SIGINT/SIGTERM, then shuts down cleanly. */
export async function runStart(config: GatehouseConfig): Promise<number> {
  const running = await startAll({ config });
  const d = running.deps.stores.describe;
  const lines = [
    `Gatehouse ${VERSION} is up at ${running.url}`,
    `  data:      ${running.dataDir}`,
    `  stores:    users, sessions, keys: ${d.users}; revocation feed: in-process; rate limits: memory`,
    `  routes:    ${[...running.deps.config.routes.map((r) => r.path), ...(config.demo ? ['/api/notes', '/api/home', '/api/admin'] : [])].join(', ') || '(none: add routes with GATEHOUSE_CONFIG)'}`,
    `  internal:  ${Object.entries(running.internal).map(([k, v]) => `${k} ${v}`).join(', ')} (loopback only)`,
    `  sign in:   ${running.url}/signin   (create a user: ${running.url}/signup or "gatehouse users add <name>")`,
    `  stop with Ctrl+C`,
  ];
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
  await running.close();
  process.stdout.write('Gatehouse stopped.\n');
  return 0;
}
