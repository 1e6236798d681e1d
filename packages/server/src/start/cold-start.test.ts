/**
 * Cold start (issue 11 item 12): the public gateway server opens a fixed port only once the
 * gateway is attached and its revocation set loaded; with port 0 (bound early) a request that
 * comes before then waits instead of getting 503. In process, on SQLite in a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import type { GatehouseConfig } from '../config/types.js';
import { createLogger } from '../util/logger.js';
import { openDeps } from './open-deps.js';
import { Cleanups } from './role-support.js';
import { attachGateway, openPublicServer } from './run-gateway.js';
import { startAll } from './start-all.js';
import { freePort } from '../stores/redis/redis-server.test-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-cold-'));
let dirs = 0;
const silent = createLogger('silent');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function config(port: number): GatehouseConfig {
  const c = structuredClone(DEFAULTS);
  c.port = port;
  c.logLevel = 'silent';
  c.demo = false;
  c.dataDir = join(tmp, `d${++dirs}`);
  return c;
}

describe('cold start', () => {
  it('a fixed port refuses connections until the gateway is ready, then answers 200 (never 503 "starting")', async () => {
    const port = await freePort();
    const c = config(port);
    const cleanups = new Cleanups(silent);
    try {
      const pub = await openPublicServer(c, cleanups);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      const opened = await openDeps(c, { logger: silent });
      cleanups.push(() => opened.close());
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
      await attachGateway(opened.deps, pub, { authUrl: 'http://127.0.0.1:9', cleanups });
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(200);
    } finally {
      await cleanups.close();
    }
  });

  it('with port 0, a request that comes before the gateway is attached waits for it and gets its answer', async () => {
    const c = config(0);
    const cleanups = new Cleanups(silent);
    try {
      const pub = await openPublicServer(c, cleanups);
      const early = fetch(`${pub.localUrl}/healthz`).then((r) => r.status);
      await new Promise((r) => setTimeout(r, 200));
      const opened = await openDeps(c, { logger: silent });
      cleanups.push(() => opened.close());
      await attachGateway(opened.deps, pub, { authUrl: 'http://127.0.0.1:9', cleanups });
      expect(await early).toBe(200);
    } finally {
      await cleanups.close();
    }
  });

  it('a fixed port already in use stops the start with a message that says how to pick another', async () => {
    const port = await freePort();
    const other = createServer().listen(port, '127.0.0.1');
    await new Promise((r) => other.once('listening', r));
    try {
      await expect(startAll({ config: config(port), logger: silent })).rejects.toThrow(/already in use.*GATEHOUSE_PORT/);
    } finally {
      other.close();
    }
  });
});
