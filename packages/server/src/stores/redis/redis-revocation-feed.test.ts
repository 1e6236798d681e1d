import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../util/clock.js';
import { openPostgresStores } from '../postgres/open-postgres-stores.js';
import { dropSchemas, requirePostgres, requireRedisServerBinary, TEST_DATABASE_URL, testSchemaName } from '../postgres/test-env.test-helpers.js';
import { openSqliteStores } from '../sqlite/open-sqlite-stores.js';
import type { RevocationEvent, RevocationStore, Stores } from '../types.js';
import { describeRedis, RedisRevocationFeed, revocationEventKey, type RedisRevocationFeedOptions } from './redis-revocation-feed.js';
import { freePort, PrivateRedis } from './redis-server.test-helpers.js';

const hasRedis = await requireRedisServerBinary();
// The durable store: PostgreSQL (scale-out's real pairing) when it answers, else SQLite.
const hasPostgres = hasRedis && (await requirePostgres(TEST_DATABASE_URL, 'Redis feed tests on PostgreSQL (using SQLite instead)'));

const DAY = 24 * 3600 * 1000;
const schema = testSchemaName('gh_test_feed');
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-feed-'));

async function openDurable(): Promise<Stores> {
  if (hasPostgres) return openPostgresStores({ url: TEST_DATABASE_URL, clock: systemClock, schema });
  return openSqliteStores({ file: join(tmp, 'gatehouse.db'), clock: systemClock });
}

/** Everything one "gateway" saw: key -> times handled, and when it was first handled. */
class Seen {
  readonly count = new Map<string, number>();
  readonly at = new Map<string, number>();
  private readonly waiters = new Map<string, () => void>();
  readonly handler = (e: RevocationEvent): void => {
    const k = revocationEventKey(e);
    this.count.set(k, (this.count.get(k) ?? 0) + 1);
    if (!this.at.has(k)) this.at.set(k, performance.now());
    this.waiters.get(k)?.();
  };
  /** Resolves when `e` is handled (at once if it was), or after `timeoutMs`; true if handled. */
  arrival(e: RevocationEvent, timeoutMs: number): Promise<boolean> {
    const k = revocationEventKey(e);
    if (this.count.has(k)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(k);
        resolve(false);
      }, timeoutMs);
      this.waiters.set(k, () => {
        clearTimeout(t);
        this.waiters.delete(k);
        resolve(true);
      });
    });
  }
  has(e: RevocationEvent): boolean {
    return this.count.has(revocationEventKey(e));
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 2): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}

let seq = 0;
const sessionEvent = (): RevocationEvent => ({ type: 'session', sid: `sid-${++seq}-${Math.random().toString(36).slice(2)}`, at: Date.now() });

/** What auth's publishRevocation does: spread, then record durably. */
async function revoke(feed: RedisRevocationFeed, store: RevocationStore, e: RevocationEvent): Promise<void> {
  await feed.publish(e);
  await store.add(e, e.at + DAY);
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]): string => `n=${xs.length} p50=${pct(xs, 50).toFixed(1)}ms max=${Math.max(...xs).toFixed(1)}ms`;

describe.skipIf(!hasRedis)('RedisRevocationFeed (private redis-server)', () => {
  const redis = new PrivateRedis();
  let storesA: Stores;
  let storesB: Stores;
  let a: RedisRevocationFeed;
  let b: RedisRevocationFeed;
  const seenA = new Seen();
  const seenB = new Seen();
  const extra: RedisRevocationFeed[] = [];
  const warnings: string[] = [];

  const feed = (stores: Stores, over: Partial<RedisRevocationFeedOptions> = {}): RedisRevocationFeed =>
    new RedisRevocationFeed({
      url: redis.url,
      revocations: stores.revocations,
      clock: systemClock,
      pollIntervalMs: 500,
      resumePollMs: 1000,
      connectTimeoutMs: 1000,
      logger: { info: () => undefined, warn: (_o, msg) => warnings.push(msg ?? '') },
      ...over,
    });

  beforeAll(async () => {
    await redis.start();
    storesA = await openDurable();
    storesB = await openDurable();
    a = feed(storesA);
    b = feed(storesB);
    a.subscribe(seenA.handler);
    b.subscribe(seenB.handler);
    await Promise.all([a.start(), b.start()]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), ...extra.map((f) => f.close())]);
    await Promise.all([storesA?.close(), storesB?.close()]);
    await redis.kill();
    if (hasPostgres) await dropSchemas([schema]);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('describes Redis without credentials', () => {
    expect(describeRedis('redis://:hunter2@cache.internal:6380/2')).toBe('Redis cache.internal:6380/2');
    expect(describeRedis('redis://default:hunter2@cache.internal')).not.toContain('hunter2');
  });

  it('two gateways see each other\'s revocations within 100 ms over pub/sub; the publisher at once, each exactly once', async () => {
    expect(a.status()).toBe('pubsub');
    expect(b.status()).toBe('pubsub');
    const delays: number[] = [];
    for (let i = 0; i < 30; i++) {
      const [from, fromStore, seenFrom, seenTo] = i % 2 ? [b, storesB, seenB, seenA] : [a, storesA, seenA, seenB];
      const e = sessionEvent();
      const arrived = seenTo.arrival(e, 1000);
      const t0 = performance.now();
      const done = revoke(from, fromStore.revocations, e);
      expect(seenFrom.has(e)).toBe(true); // synchronously, inside publish
      expect(await arrived).toBe(true);
      delays.push(seenTo.at.get(revocationEventKey(e))! - t0);
      await done;
    }
    console.log(`revocation delay, Redis up (pub/sub): ${fmt(delays)}`);
    // DESIGN §4: within 100 ms. On a loaded 2-core CI box one sample can lose a scheduler
    // slice to a parallel test file, so the bound holds for 90 % and the worst stays far below
    // the 2 s of polling.
    expect(pct(delays, 90)).toBeLessThan(100);
    expect(Math.max(...delays)).toBeLessThan(300);
    await new Promise((r) => setTimeout(r, 50)); // a late echo would show now
    for (const seen of [seenA, seenB]) expect([...seen.count.values()].every((c) => c === 1)).toBe(true);
  });

  it('FLUSHALL breaks nothing: events keep flowing over pub/sub', async () => {
    const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    await admin.flushall();
    admin.disconnect();
    const e = sessionEvent();
    const t0 = performance.now();
    await revoke(a, storesA.revocations, e);
    expect(await waitFor(() => seenB.has(e), 1000, 1)).toBe(true);
    expect(seenB.at.get(revocationEventKey(e))! - t0).toBeLessThan(100);
    expect(b.status()).toBe('pubsub');
  });

  it('Redis SIGKILLed: publish neither throws nor waits, and events arrive within 2 s by polling; restarted empty: pub/sub resumes, nothing lost or handled twice', async () => {
    await redis.kill('SIGKILL');
    expect(await waitFor(() => a.status() === 'polling' && b.status() === 'polling', 3000, 5)).toBe(true);

    const sent: RevocationEvent[] = [];
    const delays: number[] = [];
    const publishMs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const [from, fromStore, seenTo] = i % 2 ? [b, storesB, seenA] : [a, storesA, seenB];
      const e = sessionEvent();
      sent.push(e);
      const t0 = performance.now();
      await from.publish(e);
      publishMs.push(performance.now() - t0);
      await fromStore.revocations.add(e, e.at + DAY);
      expect(await waitFor(() => seenTo.has(e), 2500, 5)).toBe(true);
      delays.push(seenTo.at.get(revocationEventKey(e))! - t0);
    }
    console.log(`revocation delay, Redis down (polling every 500 ms): ${fmt(delays)}; publish took ${fmt(publishMs)}`);
    expect(Math.max(...delays)).toBeLessThan(2000);
    expect(Math.max(...publishMs)).toBeLessThan(100); // no wait on the dead Redis

    // Restart, empty, on the same port, while revocations keep coming.
    const during: RevocationEvent[] = [];
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        const e = sessionEvent();
        during.push(e);
        await revoke(i % 2 ? b : a, (i % 2 ? storesB : storesA).revocations, e);
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    const restartedAt = performance.now();
    await redis.start();
    const resumed = await waitFor(() => a.status() === 'pubsub' && b.status() === 'pubsub', 6000, 10);
    console.log(`pub/sub resumed ${(performance.now() - restartedAt).toFixed(0)} ms after redis-server answered again (incl. 1 s catch-up polling)`);
    stop = true;
    await traffic;
    expect(resumed).toBe(true);

    // Every event of the outage and the restart reached both gateways exactly once.
    for (const e of [...sent, ...during]) {
      expect(await waitFor(() => seenA.has(e) && seenB.has(e), 2000, 5), JSON.stringify(e)).toBe(true);
    }
    await new Promise((r) => setTimeout(r, 100));
    for (const seen of [seenA, seenB]) {
      const dup = [...seen.count.entries()].filter(([, c]) => c !== 1);
      expect(dup).toEqual([]);
    }

    // And pub/sub is fast again.
    const e = sessionEvent();
    const t0 = performance.now();
    await revoke(b, storesB.revocations, e);
    expect(await waitFor(() => seenA.has(e), 1000, 1)).toBe(true);
    expect(seenA.at.get(revocationEventKey(e))! - t0).toBeLessThan(100);
    expect(warnings.some((w) => /polling/.test(w))).toBe(true);
  });

  it('Redis hangs (SIGSTOP): publish does not wait, the heartbeat switches to polling, events arrive within 2 s', async () => {
    if (!redis.running) await redis.start(); // (only when the test before failed half-way)
    expect(await waitFor(() => a.status() === 'pubsub' && b.status() === 'pubsub', 5000, 10)).toBe(true);
    redis.pause();
    try {
      const e = sessionEvent();
      const t0 = performance.now();
      await a.publish(e);
      expect(performance.now() - t0).toBeLessThan(100); // no wait on the hung Redis
      await storesA.revocations.add(e, e.at + DAY);
      expect(await waitFor(() => seenB.has(e), 2500, 5)).toBe(true);
      const ms = seenB.at.get(revocationEventKey(e))! - t0;
      console.log(`revocation delay, Redis hung (heartbeat, then polling): ${ms.toFixed(0)} ms`);
      expect(ms).toBeLessThan(2000);
      expect(b.status()).toBe('polling');
    } finally {
      redis.resume();
    }
    expect(await waitFor(() => a.status() === 'pubsub' && b.status() === 'pubsub', 5000, 10)).toBe(true);
    const e = sessionEvent();
    await revoke(b, storesB.revocations, e);
    expect(await waitFor(() => seenA.has(e), 1000, 1)).toBe(true);
    expect([...seenA.count.values(), ...seenB.count.values()].every((c) => c === 1)).toBe(true);
  });

  it('only the publisher connection lost (it reconnects later than its peers): its event goes out over pub/sub once it is back, not at the next slow reconcile', async () => {
    if (!redis.running) await redis.start(); // (only when a test before failed half-way)
    // Feeds with no reconcile poll: an event that missed pub/sub would never arrive.
    const c = feed(storesA, { reconcileIntervalMs: 0, maxReconnectDelayMs: 300 });
    const d = feed(storesB, { reconcileIntervalMs: 0 });
    extra.push(c, d);
    const seenD = new Seen();
    d.subscribe(seenD.handler);
    await Promise.all([c.start(), d.start()]);
    expect(c.status()).toBe('pubsub');
    expect(d.status()).toBe('pubsub');
    const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    try {
      // Kill every publisher connection; every subscriber stays subscribed.
      const clients = String(await admin.client('LIST'));
      const pubIds = [...clients.matchAll(/id=(\d+) .*name=gatehouse-revocations-pub/g)].map((m) => m[1]!);
      expect(pubIds.length).toBeGreaterThanOrEqual(2);
      for (const id of pubIds) await admin.client('KILL', 'ID', id);
      await new Promise((r) => setTimeout(r, 20));
      const e = sessionEvent();
      await revoke(c, storesA.revocations, e);
      expect(d.status()).toBe('pubsub'); // d never polls: only a resend reaches it
      expect(await waitFor(() => seenD.has(e), 2000, 5)).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      expect(seenD.count.get(revocationEventKey(e))).toBe(1);
    } finally {
      admin.disconnect();
      await Promise.all([c.close(), d.close()]);
    }
  });

  it('an event stored twice (the log is append-only) is handled once', async () => {
    const e = sessionEvent();
    await storesA.revocations.add(e, e.at + DAY);
    await storesA.revocations.add(e, e.at + DAY);
    // Redis is fine, so only the slow reconcile poll would find it: use a feed that polls.
    const deadPort = await freePort();
    const c = new RedisRevocationFeed({ url: `redis://127.0.0.1:${deadPort}`, revocations: storesA.revocations, clock: systemClock, pollIntervalMs: 100, connectTimeoutMs: 200 });
    extra.push(c);
    const seenC = new Seen();
    c.subscribe(seenC.handler);
    const t0 = performance.now();
    await c.start();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(c.status()).toBe('polling');
    expect(await waitFor(() => seenC.has(e), 1000, 5)).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
    expect(seenC.count.get(revocationEventKey(e))).toBe(1);
    await c.close();
  });

  it('starts while Redis is away (polling), and takes pub/sub once it answers', async () => {
    const late = new PrivateRedis();
    late.port = await freePort();
    const c = new RedisRevocationFeed({ url: late.url, revocations: storesB.revocations, clock: systemClock, pollIntervalMs: 200, resumePollMs: 300, connectTimeoutMs: 300 });
    extra.push(c);
    const seenC = new Seen();
    c.subscribe(seenC.handler);
    try {
      await c.start();
      expect(c.status()).toBe('polling');
      const e = sessionEvent();
      await storesA.revocations.add(e, e.at + DAY); // published elsewhere, stored
      expect(await waitFor(() => seenC.has(e), 1500, 5)).toBe(true);
      await late.start();
      expect(await waitFor(() => c.status() === 'pubsub', 4000, 10)).toBe(true);
      const admin = new Redis(late.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await admin.connect();
      const before = seenC.count.size; // (polling also delivered the earlier tests' recent events)
      const e2 = sessionEvent();
      await admin.publish('gatehouse:revocations', JSON.stringify({ v: 1, o: 'other', e: e2 }));
      await admin.publish('gatehouse:revocations', 'not json');
      await admin.publish('gatehouse:revocations', JSON.stringify({ v: 1, o: 'other', e: { type: 'session' } }));
      admin.disconnect();
      expect(await waitFor(() => seenC.has(e2), 500, 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(seenC.count.size).toBe(before + 1); // malformed messages are ignored
    } finally {
      await c.close();
      await late.kill();
    }
  });

  it('after close: nothing is delivered, publish is a no-op, unsubscribe works', async () => {
    const c = feed(storesA);
    extra.push(c);
    const seenC = new Seen();
    const un = c.subscribe(seenC.handler);
    await c.start();
    const e = sessionEvent();
    await c.publish(e);
    expect(seenC.has(e)).toBe(true);
    un();
    const e2 = sessionEvent();
    await c.publish(e2);
    expect(seenC.has(e2)).toBe(false);
    await c.close();
    await c.close();
    c.subscribe(seenC.handler);
    await c.publish(sessionEvent());
    expect(seenC.count.size).toBe(1);
  });
});
