import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../util/clock.js';
import { runRateLimitStoreContract } from '../contract/index.test-helpers.js';
import { requireRedisServerBinary } from '../postgres/test-env.test-helpers.js';
import { createRequestPathRedis, whenRedisReady } from '../redis/redis-client.js';
import { PrivateRedis } from '../redis/redis-server.test-helpers.js';
import { openSqliteStores } from '../sqlite/open-sqlite-stores.js';
import type { RateLimitRule, Stores } from '../types.js';
import { RedisRateLimitStore } from './redis-rate-limit-store.js';

const hasRedis = await requireRedisServerBinary();
const redis = new PrivateRedis();
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-rl-'));
const clients: Redis[] = [];

async function client(): Promise<Redis> {
  const c = createRequestPathRedis({ url: redis.url });
  clients.push(c);
  await whenRedisReady(c, 2000);
  return c;
}

beforeAll(async () => {
  if (hasRedis) await redis.start();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.kill();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
const rule: RateLimitRule = { points: 5, durationSec: 60 };
const key = (p: string) => `test:${p}:${++n}:${Date.now()}`;

describe.skipIf(!hasRedis)('RedisRateLimitStore', () => {
  // The shared contract, with the counters in Redis (the SQL stores around them are SQLite).
  runRateLimitStoreContract('Redis', async (): Promise<Stores> => {
    const base = await openSqliteStores({ file: join(tmp, `s${++n}.db`), clock: systemClock });
    return { ...base, rateLimits: new RedisRateLimitStore({ client: await client() }) };
  });

  it('counts atomically across instances: 40 parallel consumes over two instances allow exactly `points`', async () => {
    const a = new RedisRateLimitStore({ client: await client() });
    const b = new RedisRateLimitStore({ client: await client() });
    const k = key('shared');
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).consume(k, rule)));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect((await b.peek(k, rule)).allowed).toBe(false);
    // reset on one instance frees the key for all.
    await a.reset(k);
    expect((await b.consume(k, rule)).allowed).toBe(true);
  });

  it('every counter key carries its window as TTL', async () => {
    const c = await client();
    const store = new RedisRateLimitStore({ client: c, prefix: 'ttlcheck' });
    const k = key('ttl');
    await store.consume(k, { points: 3, durationSec: 30 });
    const ttl = await c.pttl(`ttlcheck:${k}`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
  });

  it('Redis away: counts per instance in memory at once (no wait), and shares again once it is back', async () => {
    const c = await client();
    const store = new RedisRateLimitStore({ client: c });
    const k = key('outage');
    await store.consume(k, rule);
    await redis.kill();
    const started = performance.now();
    const during = [];
    for (let i = 0; i < 6; i++) during.push(await store.consume(k, rule));
    const ms = performance.now() - started;
    // Fresh per-instance counting: 5 allowed, the 6th refused; never an error, never a hang.
    expect(during.map((r) => r.allowed)).toEqual([true, true, true, true, true, false]);
    // Bounded by the client's 100 ms command timeout per call until it notices the kill; the
    // margin is for a loaded 2-core CI box (a hang would be seconds).
    expect(ms).toBeLessThan(1500);
    // The counts above never waited for it, but the client learns of the kill only when the
    // socket's close event is processed; it must follow within a bounded time.
    await expect.poll(() => store.shared(), { timeout: 2000, interval: 20 }).toBe(false);
    await redis.start();
    expect(await whenRedisReady(c, 5000)).toBe(true);
    expect(store.shared()).toBe(true);
    // Redis restarted empty: the shared counter starts over.
    expect(await store.consume(key('after'), rule)).toMatchObject({ allowed: true, remaining: 4 });
  }, 20_000);
});
