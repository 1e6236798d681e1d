/**
 * The scale-out wiring in process, on real servers: PostgreSQL (a private schema of the test
 * database) reached through a TCP proxy the test can cut, and a private redis-server the test
 * kills, restarts empty and flushes. Instance A is `gatehouse start` (auth + gateway), B is
 * `gatehouse gateway` alone on the same stores, forwarding /auth/* to A's auth service.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/load-config.js';
import { DEFAULTS } from '../config/defaults.js';
import type { GatehouseConfig } from '../config/types.js';
import { relaxAbuseLimits } from '../auth/test-helpers.js';
import { TcpProxy } from '../stores/postgres/tcp-proxy.test-helpers.js';
import { dropSchemas, requirePostgres, requireRedisServerBinary, TEST_DATABASE_URL, testSchemaName } from '../stores/postgres/test-env.test-helpers.js';
import { PrivateRedis } from '../stores/redis/redis-server.test-helpers.js';
import { createLogger } from '../util/logger.js';
import { runAuth } from './run-auth.js';
import { runGateway, type RunningGateway } from './run-gateway.js';
import { startAll, type RunningGatehouse } from './start-all.js';

const SUITE = 'in-process scale-out wiring tests';
const hasPostgres = await requirePostgres(TEST_DATABASE_URL, SUITE);
const hasRedis = hasPostgres && (await requireRedisServerBinary());
const ready = hasPostgres && hasRedis;

const PASSWORD = 'correct horse battery staple';
const schema = testSchemaName('gh_test_scale');
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-scale-'));
const redis = new PrivateRedis();
const pgUrl = new URL(TEST_DATABASE_URL);
const pgProxy = new TcpProxy(pgUrl.hostname, Number(pgUrl.port || 5432));
const silent = createLogger('silent');
let dirs = 0;

function configFor(databaseUrl: string): GatehouseConfig {
  const c = structuredClone(DEFAULTS);
  c.port = 0;
  c.logLevel = 'silent';
  c.dataDir = join(tmp, `d${++dirs}`);
  c.masterKey = masterKey;
  c.databaseUrl = databaseUrl;
  c.redisUrl = redis.url;
  // A short memory trust, so the tests reach the hot copy and the store quickly.
  c.session.cacheTtlMs = 300;
  relaxAbuseLimits(c);
  return c;
}
const masterKey = randomBytes(32).toString('base64url');
const viaProxy = (): string => {
  const u = new URL(TEST_DATABASE_URL);
  u.hostname = '127.0.0.1';
  u.port = String(pgProxy.port);
  return u.toString();
};
const openDepsOptions = { postgresSchema: schema, feed: { pollIntervalMs: 200, heartbeatMs: 200 } };

let A: RunningGatehouse;
let B: RunningGateway;

const json = { 'content-type': 'application/json' };
async function signUpAndIn(base: string, username: string): Promise<{ cookie: string; csrf: string }> {
  const up = await fetch(`${base}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) });
  expect(up.status, await up.text()).toBe(201);
  const res = await signIn(base, username);
  expect(res.status).toBe(200);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => !c.endsWith('='))
    .join('; ');
  return { cookie, csrf: ((await res.json()) as { csrf_token: string }).csrf_token };
}
const signIn = (base: string, username: string): Promise<Response> => fetch(`${base}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) });
const whoami = async (base: string, headers: Record<string, string>): Promise<number> => {
  const r = await fetch(`${base}/api/home/whoami`, { headers });
  await r.arrayBuffer();
  return r.status;
};
const readyz = async (base: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const r = await fetch(`${base}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
async function waitFor(probe: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return probe();
}
/** Counts reads of the durable session store by `getWithUser` (the gateway's lookup) on an instance. */
function countSessionReads(deps: RunningGateway['deps']): { count: number } {
  const counter = { count: 0 };
  const sessions = deps.stores.sessions;
  const real = sessions.getWithUser.bind(sessions);
  sessions.getWithUser = (h) => {
    counter.count++;
    return real(h);
  };
  return counter;
}

describe.skipIf(!ready)('scale-out wiring (PostgreSQL + Redis, in process)', () => {
  beforeAll(async () => {
    await Promise.all([redis.start(), pgProxy.start()]);
    A = await startAll({ config: configFor(viaProxy()), logger: silent, openDeps: openDepsOptions });
    const bConfig = configFor(viaProxy());
    bConfig.authUrl = A.internal.auth!;
    // No public URL on either: instances sharing a database agree on the shared issuer by themselves.
    B = await runGateway({ config: bConfig, logger: silent, openDeps: openDepsOptions });
  }, 30_000);

  afterAll(async () => {
    await B?.close();
    await A?.close();
    await pgProxy.stop();
    await redis.kill();
    await dropSchemas([schema]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('names the stores in use without a password', () => {
    expect(A.storesLine).toBe(
      `users, sessions, keys: PostgreSQL 127.0.0.1:${pgProxy.port}/${pgUrl.pathname.slice(1)} (schema ${schema}); hot copy: Redis 127.0.0.1:${redis.port}; revocation feed: Redis pub/sub (polling PostgreSQL while Redis is away); rate limits: Redis`,
    );
    expect(B.storesLine).toContain('hot copy: Redis');
  });

  it('a session signed in on A is read by B through the hot copy (no PostgreSQL read on B); /readyz says ready', async () => {
    const s = await signUpAndIn(A.localUrl, 'hot-user');
    expect(await whoami(A.localUrl, { cookie: s.cookie })).toBe(200); // A reads PostgreSQL, writes the hot copy
    const reads = countSessionReads(B.deps);
    expect(await whoami(B.localUrl, { cookie: s.cookie })).toBe(200);
    expect(reads.count).toBe(0);
    expect(B.deps.hotCache!.stats().hits).toBeGreaterThanOrEqual(1);
    const rz = await readyz(B.localUrl);
    expect(rz).toMatchObject({ status: 200, body: { status: 'ready', feed: 'pubsub', hotCache: 'redis' } });
    // Sign-out on B: refused on A at once (pub/sub), and the hot copy is gone.
    const out = await fetch(`${B.localUrl}/auth/signout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(out.status).toBe(204);
    expect(await waitFor(async () => (await whoami(A.localUrl, { cookie: s.cookie })) === 401, 1000)).toBe(true);
    expect(await whoami(B.localUrl, { cookie: s.cookie })).toBe(401);
  });

  it('Redis killed: requests still 200 from PostgreSQL; restarted empty: still 200, nobody signed out; FLUSHALL: still 200', async () => {
    const s = await signUpAndIn(A.localUrl, 'redis-outage');
    const t = await fetch(`${A.localUrl}/auth/token`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'password', username: 'redis-outage', password: PASSWORD, device_id: 'tv' }) });
    const { access_token: at } = (await t.json()) as { access_token: string };
    for (const g of [A.localUrl, B.localUrl]) expect(await whoami(g, { cookie: s.cookie })).toBe(200);

    await redis.kill();
    const during: number[] = [];
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 120)); // past session.cacheTtlMs now and then
      for (const g of [A.localUrl, B.localUrl]) during.push(await whoami(g, { cookie: s.cookie }), await whoami(g, { authorization: `Bearer ${at}` }));
    }
    expect(during.every((x) => x === 200), JSON.stringify(during)).toBe(true);
    expect(await waitFor(async () => (await readyz(B.localUrl)).body.feed === 'polling', 3000)).toBe(true);
    expect(await readyz(B.localUrl)).toMatchObject({ status: 200, body: { status: 'degraded', hotCache: 'down', stores: { sessions: true, rateLimits: false }, parts: { redis: { state: 'down' }, database: { state: 'up' } } } });
    // Sign-in works while Redis is away (counters per instance).
    expect((await signIn(A.localUrl, 'redis-outage')).status).toBe(200);

    await redis.start(); // same port, empty
    expect(await waitFor(async () => (await readyz(B.localUrl)).body.hotCache === 'redis', 5000)).toBe(true);
    // Rate-limit counters are shared again as soon as Redis answers (it read false with Redis up).
    expect(await waitFor(async () => ((await readyz(B.localUrl)).body.stores as Record<string, boolean>).rateLimits === true, 5000)).toBe(true);
    for (const g of [A.localUrl, B.localUrl]) expect(await whoami(g, { cookie: s.cookie })).toBe(200);
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url, { lazyConnect: true });
    await admin.connect();
    try {
      await new Promise((r) => setTimeout(r, 350));
      for (const g of [A.localUrl, B.localUrl]) expect(await whoami(g, { cookie: s.cookie })).toBe(200); // hot copies rewritten
      expect((await admin.keys('gatehouse:hot:*')).length).toBeGreaterThan(0);
      for (const k of await admin.keys('*')) expect(await admin.pttl(k), `TTL of ${k}`).toBeGreaterThan(0);
      expect(await admin.flushall()).toBe('OK');
      for (const g of [A.localUrl, B.localUrl]) expect(await whoami(g, { cookie: s.cookie })).toBe(200);
      await new Promise((r) => setTimeout(r, 350));
      for (const g of [A.localUrl, B.localUrl]) expect(await whoami(g, { cookie: s.cookie })).toBe(200);
    } finally {
      admin.disconnect();
    }
    expect(await waitFor(async () => (await readyz(B.localUrl)).body.feed === 'pubsub', 8000)).toBe(true);
  }, 30_000);

  it('PostgreSQL unreachable: a hot session still 200 (also on a gateway that never saw it), an uncached one 503, sign-in 503, access tokens 200', async () => {
    const hot = await signUpAndIn(A.localUrl, 'pg-hot');
    const cold = await signUpAndIn(A.localUrl, 'pg-cold'); // never used: in no hot copy
    const t = await fetch(`${A.localUrl}/auth/token`, { method: 'POST', headers: json, body: JSON.stringify({ grant_type: 'password', username: 'pg-hot', password: PASSWORD, device_id: 'tv' }) });
    const { access_token: at } = (await t.json()) as { access_token: string };
    expect(await whoami(A.localUrl, { cookie: hot.cookie })).toBe(200); // A writes the hot copy to Redis
    expect(await whoami(B.localUrl, { authorization: `Bearer ${at}` })).toBe(200);

    await pgProxy.stop();
    try {
      // Past session.cacheTtlMs: the hot copy is "old", PostgreSQL is asked and fails, the copy is served.
      await new Promise((r) => setTimeout(r, 400));
      for (const g of [A.localUrl, B.localUrl]) {
        expect(await whoami(g, { cookie: hot.cookie }), `hot session on ${g}`).toBe(200);
        expect(await whoami(g, { authorization: `Bearer ${at}` }), `access token on ${g}`).toBe(200);
        const r = await fetch(`${g}/api/home/whoami`, { headers: { cookie: cold.cookie } });
        expect(r.status, `cold session on ${g}`).toBe(503);
        expect(((await r.json()) as { code: string }).code).toBe('unavailable');
        const si = await signIn(g, 'pg-hot');
        expect(si.status, `sign-in through ${g}`).toBe(503);
        expect(((await si.json()) as { code: string }).code).toBe('unavailable');
      }
      const rz = await readyz(B.localUrl);
      expect(rz).toMatchObject({ status: 200, body: { status: 'degraded', stores: { sessions: false } } });
      const metrics = await (await fetch(`${B.localUrl}/metrics`)).text();
      expect(metrics).toMatch(/gatehouse_degraded_decisions_total\{reason="session_from_hot_copy"\} [1-9]/);
      expect(metrics).toMatch(/gatehouse_degraded_decisions_total\{reason="session_unavailable"\} [1-9]/);
      expect(metrics).toMatch(/gatehouse_revocation_feed_mode\{mode="pubsub"\} 1/);
    } finally {
      await pgProxy.start();
    }
    expect(await waitFor(async () => (await whoami(B.localUrl, { cookie: cold.cookie })) === 200, 5000)).toBe(true);
    // Through A's auth service, whose circuit breaker closes at its own next check (every 1 s;
    // a check slower than 1 s keeps it open, which a fully loaded 2-core box can make happen a
    // few times in a row). The statuses seen say which it was if it never recovers.
    const seen: number[] = [];
    const recovered = await waitFor(async () => {
      const status = (await signIn(B.localUrl, 'pg-cold')).status;
      seen.push(status);
      return status === 200;
    }, 15_000);
    expect(recovered, `sign-in statuses while A's breaker closes: ${seen.join(',')}`).toBe(true);
  }, 30_000);

  it('auth service away: signed-in traffic goes on, sign-in and sign-up answer 503 unavailable (not 502)', async () => {
    const s = await signUpAndIn(B.localUrl, 'auth-away');
    const bConfig = configFor(viaProxy());
    const auth = await runAuth({ config: { ...bConfig, publicUrl: A.url }, logger: silent, openDeps: openDepsOptions });
    const cConfig = configFor(viaProxy());
    cConfig.authUrl = auth.url;
    cConfig.publicUrl = A.url;
    const C = await runGateway({ config: cConfig, logger: silent, openDeps: openDepsOptions });
    try {
      expect((await signIn(C.localUrl, 'auth-away')).status).toBe(200);
      await auth.close();
      expect(await whoami(C.localUrl, { cookie: s.cookie })).toBe(200);
      for (const path of ['/auth/signin', '/auth/signup']) {
        const r = await fetch(`${C.localUrl}${path}`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'auth-away-2', password: PASSWORD }) });
        expect(r.status, path).toBe(503);
        expect(((await r.json()) as { code: string }).code).toBe('unavailable');
      }
      expect(await (await fetch(`${C.localUrl}/metrics`)).text()).toMatch(/gatehouse_degraded_decisions_total\{reason="auth_service_unavailable"\} 2/);
    } finally {
      await C.close();
      await auth.close();
    }
  }, 30_000);

  it('start refuses without GATEHOUSE_MASTER_KEY when databaseUrl is set; gateway refuses without GATEHOUSE_AUTH_URL', async () => {
    const c = configFor(viaProxy());
    c.masterKey = null;
    await expect(startAll({ config: c, logger: silent, openDeps: openDepsOptions })).rejects.toThrow(/GATEHOUSE_MASTER_KEY/);
    await expect(runAuth({ config: c, logger: silent, openDeps: openDepsOptions })).rejects.toThrow(/GATEHOUSE_MASTER_KEY/);
    const g = configFor(viaProxy());
    await expect(runGateway({ config: g, logger: silent, openDeps: openDepsOptions })).rejects.toThrow(ConfigError);
    await expect(runGateway({ config: g, logger: silent, openDeps: openDepsOptions })).rejects.toThrow(/GATEHOUSE_AUTH_URL/);
  });
});
