import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawConnection, responseHead, until } from '../e2e/harness.js';
import {
  bearerHeaders,
  cookieHeaders,
  createPrivateDatabase,
  freePort,
  killLeftovers,
  masterKey,
  passwordGrant,
  type PrivateDatabase,
  PrivateRedis,
  removeTempDirs,
  type RoleProcess,
  scaleOutReady,
  signUpAndIn,
  sleep,
  startRole,
  tempDir,
  whoami,
  writeClusterConfig,
} from './cluster.test-helpers.js';

// Issue 11 items 11, 12, 18 and 19 with real processes of the built CLI on a private
// PostgreSQL database and a private redis-server: a rolling restart of one of two gateways
// under steady traffic, `gatehouse start` instances agreeing on the issuer, and `gatehouse
// auth` on PostgreSQL keeping nothing on disk.

const SUITE = 'multi-process lifecycle tests';
const ready = await scaleOutReady(SUITE);

const measured: Record<string, string> = {};
afterAll(async () => {
  await killLeftovers();
  if (Object.keys(measured).length) console.log(`lifecycle measurements:\n${Object.entries(measured).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  removeTempDirs();
});

/** Errors that prove nothing of the request was sent (a load balancer retries these on another backend). */
const NOT_SENT = new Set(['ECONNREFUSED']);
/**
 * A kept-alive connection closed by the server before any answer to a request just written:
 * the request was not processed, and for an idempotent GET a load balancer retries it too
 * (nginx `proxy_next_upstream error`, Envoy `reset`).
 */
const CLOSED_BEFORE_ANSWER = new Set(['UND_ERR_SOCKET', 'ECONNRESET']);

interface LbStats {
  total: number;
  byBackend: Record<string, number>;
  retriedRefused: number;
  retriedClosed: number;
  failures: Array<{ status: number | string; atMs: number; body: string }>;
}

/**
 * A tiny load balancer in the client: round robin over `backends` on kept-alive connections,
 * moving a GET to the next backend only when the connection was refused or closed before any
 * answer. Every other error, and every answer but 200, is a failure, except the health check's
 * own `/readyz` 503 `draining` from a stopping backend (what tells a load balancer to move on).
 */
function balancedTraffic(backends: () => RoleProcess[], paths: Array<{ path: string; headers: Record<string, string> }>, options: { concurrency: number; maxMs: number }) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 8 });
  const started = performance.now();
  const stats: LbStats = { total: 0, byBackend: {}, retriedRefused: 0, retriedClosed: 0, failures: [] };
  let stopped = false;
  let rr = 0;
  const one = async (i: number) => {
    const target = paths[i % paths.length]!;
    const list = backends();
    const first = rr++ % list.length;
    for (let attempt = 0; attempt < list.length; attempt++) {
      const b = list[(first + attempt) % list.length]!;
      try {
        const res = await request(`${b.url}${target.path}`, { headers: target.headers, dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
        const body = await res.body.text();
        stats.byBackend[b.url] = (stats.byBackend[b.url] ?? 0) + 1;
        const drainingProbe = target.path === '/readyz' && res.statusCode === 503 && body.includes('"draining"');
        if (res.statusCode !== 200 && !drainingProbe) stats.failures.push({ status: res.statusCode, atMs: Math.round(performance.now() - started), body: body.slice(0, 200) });
        return;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (NOT_SENT.has(code)) stats.retriedRefused++;
        else if (CLOSED_BEFORE_ANSWER.has(code)) stats.retriedClosed++;
        else {
          stats.failures.push({ status: code || (err as Error).name, atMs: Math.round(performance.now() - started), body: (err as Error).message });
          return;
        }
      }
    }
    stats.failures.push({ status: 'no backend', atMs: Math.round(performance.now() - started), body: '' });
  };
  const worker = async (w: number) => {
    let i = w;
    while (!stopped && performance.now() - started < options.maxMs) {
      await one(i++);
      stats.total++;
    }
  };
  const workers = Array.from({ length: options.concurrency }, (_, w) => worker(w));
  return {
    async stop(): Promise<LbStats> {
      stopped = true;
      await Promise.all(workers);
      await agent.close();
      return stats;
    },
  };
}

describe.skipIf(!ready)('scale-out lifecycle', () => {
  let db: PrivateDatabase;
  const redis = new PrivateRedis();
  let key: string;
  let configFile: string;
  let base: Record<string, string>;

  beforeAll(async () => {
    [db] = await Promise.all([createPrivateDatabase(), redis.start()]);
    key = masterKey();
    configFile = writeClusterConfig(tempDir());
    base = { GATEHOUSE_DATABASE_URL: db.url, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: key, GATEHOUSE_CONFIG: configFile };
  }, 30_000);

  afterAll(async () => {
    await killLeftovers();
    await Promise.all([db?.drop(), redis.kill()]);
  });

  it('rolling restart of one of two gateways under steady traffic: 0 errors; the stopped one exits 0 and serves again once back', async () => {
    const auth = await startRole('auth', { env: base });
    const gwEnv = { ...base, GATEHOUSE_AUTH_URL: auth.url };
    const portA = await freePort();
    let a = await startRole('gateway', { port: portA, env: gwEnv });
    const b = await startRole('gateway', { env: gwEnv });
    try {
      const s = await signUpAndIn(a.url, 'rolling-1');
      const t = await passwordGrant(b.url, 'rolling-1', 'tv-rolling');
      const backends = [a, b];
      const traffic = balancedTraffic(() => backends, [
        { path: '/api/home/whoami', headers: cookieHeaders(s) },
        { path: '/api/home/whoami', headers: bearerHeaders(t.access_token) },
        { path: '/readyz', headers: {} },
      ], { concurrency: 6, maxMs: 40_000 });
      await sleep(1000);

      const t0 = performance.now();
      const code = await a.stop('SIGTERM');
      const stopMs = performance.now() - t0;
      expect(code).toBe(0);
      expect(a.stdout()).toContain('Gatehouse gateway stopped.');
      a = await startRole('gateway', { port: portA, env: gwEnv });
      backends[0] = a;
      const restartMs = performance.now() - t0;
      await sleep(1500);
      const stats = await traffic.stop();
      measured['rolling restart'] = `${stats.total} requests, ${stats.failures.length} errors, ${stats.retriedRefused} moved after connection refused, ${stats.retriedClosed} after a kept-alive connection closed before an answer; SIGTERM to exit ${stopMs.toFixed(0)} ms, to the new process up ${restartMs.toFixed(0)} ms`;
      expect(stats.failures, JSON.stringify(stats.failures.slice(0, 5))).toEqual([]);
      expect(stats.total).toBeGreaterThan(100);
      expect((stats.byBackend[a.url] ?? 0) + (stats.byBackend[b.url] ?? 0)).toBe(stats.total);
      // The restarted gateway took its share again.
      const after = await whoami(a.url, cookieHeaders(s));
      expect(after.status).toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop(), auth.stop()]);
    }
  }, 90_000);

  it('two `gatehouse start` on one database without GATEHOUSE_PUBLIC_URL agree on the issuer: a token from one works on the other', async () => {
    const one = await startRole('start', { env: base });
    const two = await startRole('start', { env: base });
    try {
      await signUpAndIn(one.url, 'issuer-1');
      const t = await passwordGrant(one.url, 'issuer-1', 'tv-issuer');
      const there = await whoami(two.url, bearerHeaders(t.access_token));
      expect(there.status).toBe(200);
      expect(there.claims).toMatchObject({ username: 'issuer-1', auth: 'access_token' });
      const disc = (await (await fetch(`${one.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
      const disc2 = (await (await fetch(`${two.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
      expect(disc.issuer).toBe(disc2.issuer);
      expect(one.stderr() + one.stdout()).toMatch(/GATEHOUSE_PUBLIC_URL/);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  }, 60_000);

  it('`gatehouse auth` drains too: a sign-up whose body is still arriving at SIGTERM gets 201 with Connection: close, then exit 0', async () => {
    const auth = await startRole('auth', { env: base });
    try {
      const body = JSON.stringify({ username: 'drain-auth', password: 'correct horse battery staple' });
      const c = await rawConnection(auth.url);
      c.socket.write(`POST /auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`);
      c.socket.write(body.slice(0, 10));
      // A /readyz whose headers are not complete yet when the signal comes.
      const ready = await rawConnection(auth.url);
      ready.socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n');
      await sleep(100);
      const t0 = performance.now();
      const exited = new Promise<number | null>((r) => auth.proc.once('exit', (code) => r(code)));
      auth.proc.kill('SIGTERM');
      await until('the signal is handled', () => auth.stdout().includes('Received SIGTERM'), 5000);
      ready.socket.write('\r\n');
      await until('readyz answer', () => ready.data().includes('"status"'), 2000);
      expect(responseHead(ready.data()).status, ready.data()).toBe(503);
      expect(ready.data()).toContain('"draining"');
      await sleep(500);
      expect(c.socket.destroyed, 'the sign-up was cut').toBe(false);
      c.socket.write(body.slice(10));
      await until('sign-up answer', () => c.data().includes('\r\n\r\n'), 10_000);
      const h = responseHead(c.data());
      expect(h.status, c.data()).toBe(201);
      expect(h.headers.connection).toBe('close');
      expect(await exited).toBe(0);
      expect(performance.now() - t0).toBeLessThan(8000);
    } finally {
      await auth.stop('SIGKILL');
    }
  }, 30_000);

  it('`gatehouse auth` on PostgreSQL creates no data directory', async () => {
    const dataDir = join(tempDir(), 'data');
    const auth = await startRole('auth', { env: { ...base, GATEHOUSE_DATA_DIR: dataDir } });
    try {
      expect(auth.stdout()).not.toContain('data:');
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      expect(await auth.stop()).toBe(0);
    }
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);
});
