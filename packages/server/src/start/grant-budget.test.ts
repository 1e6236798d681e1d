/**
 * The grant CPU-share budget (issue 19, gateway/pipeline/proxy/grant-budget.ts) through a real
 * `gatehouse start` (startAll: gateway and auth service on one event loop, SQLite in a temp dir).
 * "Others" are requests to an upstream in this same process whose handler holds the loop for a
 * few ms, so the loop is saturated whatever the box's load; grants are refresh grants with an
 * unknown token (the auth service answers 400 invalid_grant: a grant all the same). No
 * throughput is asserted: only the order of answers, and the refusal past the wait.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import { createLogger } from '../util/logger.js';
import { startAll, type RunningGatehouse } from './start-all.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-grant-budget-'));
let dirs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An upstream whose every answer holds the event loop for `busyMs`. */
async function busyUpstream(busyMs: number): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {
      // hold the loop, as a CPU-heavy request would
    }
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function start(grantSharePercent: number, upstream: string, maxWaitMs?: number): Promise<RunningGatehouse> {
  const c = structuredClone(DEFAULTS);
  c.port = 0;
  c.logLevel = 'silent';
  c.demo = false;
  c.dataDir = join(tmp, `d${++dirs}`);
  c.gateway.grantSharePercent = grantSharePercent;
  c.routes = [{ path: '/api/busy', upstream, service: 'busy', auth: 'none' }];
  // Saturated whenever others are served, and a grant estimated at 2 ms at least: the box's load
  // (which can leave this loop idle-waiting for a core) and the fit's noise beside 4 ms others
  // (a grant fitted near 0 let all through in 2 of 8 runs) do not decide whether the budget holds.
  return startAll({ config: c, logger: createLogger('silent'), grantBudget: { saturation: 0, minGrantMs: 2, ...(maxWaitMs !== undefined ? { maxWaitMs } : {}) } });
}

const grant = (base: string) =>
  fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'ghr_unknown' }),
  });

/**
 * Keeps `inFlight` requests to /api/busy going until `stop()`; `done` counts their answers.
 * Resolves once the loop has been saturated by them for `warmMs`.
 */
async function saturate(base: string, inFlight: number, warmMs: number) {
  let stopped = false;
  const state = { done: 0 };
  const workers = Array.from({ length: inFlight }, async () => {
    while (!stopped) {
      const r = await fetch(`${base}/api/busy`);
      await r.arrayBuffer();
      state.done++;
    }
  });
  await new Promise((r) => setTimeout(r, warmMs));
  return {
    state,
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

describe('grant budget in gatehouse start', () => {
  it('while others saturate the loop, grants sent together wait for their share, others sent later are served first', async () => {
    const up = await busyUpstream(4);
    const gh = await start(2, up.url);
    try {
      // A grant alone first: nothing waits (the loop is idle).
      expect((await grant(gh.url)).status).toBe(400);
      const load = await saturate(gh.url, 4, 400);
      const before = load.state.done;
      const seen: number[] = [];
      const statuses = await Promise.all(
        Array.from({ length: 24 }, async () => {
          const r = await grant(gh.url);
          await r.arrayBuffer();
          seen.push(load.state.done - before);
          return r.status;
        }),
      );
      await load.stop();
      // Answered by the auth service, or refused past the wait (2 s) on a slow box.
      expect(statuses.every((s) => s === 400 || s === 503)).toBe(true);
      expect(statuses).toContain(400);
      // Without the budget the last is answered within about twenty of the others (each ~4 ms
      // of loop; measured 12 and 21); at 2 % of the loop they are spread over windows of
      // 50 ms with the others served between them (measured 57–256 at load 7–9, the last refused).
      seen.sort((a, b) => a - b);
      expect(seen[seen.length - 1]!).toBeGreaterThan(40);
    } finally {
      await gh.close();
      await new Promise((r) => up.server.close(r));
    }
  }, 30_000);

  it('refuses a grant that waited past the bound with 503 unavailable and Retry-After', async () => {
    const up = await busyUpstream(4);
    // A wait bound of 300 ms (2 s in production): refused within the test's time on any box.
    const gh = await start(1, up.url, 300);
    try {
      const load = await saturate(gh.url, 4, 400);
      const answers = await Promise.all(
        Array.from({ length: 120 }, async () => {
          const r = await grant(gh.url);
          const body = (await r.json()) as { code?: string; error?: string };
          return { status: r.status, retryAfter: r.headers.get('retry-after'), code: body.code ?? body.error };
        }),
      );
      await load.stop();
      const refused = answers.filter((a) => a.status === 503);
      expect(refused.length).toBeGreaterThan(0);
      for (const a of refused) expect(a).toEqual({ status: 503, retryAfter: '1', code: 'unavailable' });
      // The ones within their share were answered by the auth service.
      expect(answers.some((a) => a.status === 400)).toBe(true);
      // Others stopped: grants pass at once again.
      expect((await grant(gh.url)).status).toBe(400);
    } finally {
      await gh.close();
      await new Promise((r) => up.server.close(r));
    }
  }, 30_000);
});
