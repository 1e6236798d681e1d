/**
 * The circuit breaker in front of PostgreSQL (`stores/health`), on a private server the test
 * freezes (SIGSTOP) and stops: after a first timeout or refused connection every call fails at
 * once instead of waiting out the connection timeout, a background check closes it again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../errors/index.js';
import { ManualClock } from '../../util/clock.js';
import { makeUser } from '../contract/fixtures.test-helpers.js';
import type { Stores } from '../types.js';
import { openPostgresStores } from './open-postgres-stores.js';
import { PrivatePostgres } from './private-postgres.test-helpers.js';

const pgServer = new PrivatePostgres();
if (!pgServer.available && process.env.CI) throw new Error('initdb/postgres not found: CI must run the private-PostgreSQL fault tests');

async function timed<T>(p: Promise<T>): Promise<{ ms: number; error?: unknown; value?: T }> {
  const t0 = performance.now();
  try {
    const value = await p;
    return { ms: performance.now() - t0, value };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

async function until(probe: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (probe()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return probe();
}

describe.skipIf(!pgServer.available)('PostgreSQL circuit breaker (private server: frozen, stopped)', () => {
  let stores: Stores;

  beforeAll(async () => {
    await pgServer.start();
    // Connection timeout as shipped (2 s): what every call waited for before the breaker.
    stores = await openPostgresStores({ url: pgServer.url, clock: new ManualClock(), health: { intervalMs: 300, downIntervalMs: 200, timeoutMs: 300 } });
  }, 60_000);

  afterAll(async () => {
    pgServer.resume();
    await stores?.close();
    await pgServer.remove();
  });

  it('frozen: after the first timeout calls fail at once (503 unavailable), and it closes again when PostgreSQL answers', async () => {
    const u = makeUser();
    await stores.users.create(u);
    expect(stores.health.parts().database).toMatchObject({ state: 'up', breaker: 'closed' });

    pgServer.pause();
    // The first call waits on a pooled connection (its own bound: 4 s); the background check
    // finds the hang first, opens the breaker, and the call stops waiting then.
    const first = await timed(stores.users.findById(u.id));
    expect(first.error).toBeInstanceOf(StoreUnavailableError);
    expect(first.ms).toBeLessThan(1500);
    expect(await until(() => stores.health.parts().database!.state === 'down', 3000)).toBe(true);
    expect(['open', 'half-open']).toContain(stores.health.parts().database!.breaker);

    // Breaker open: no waiting for the 2 s connection timeout.
    const ms: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await timed(stores.users.findById(u.id));
      expect(r.error).toBeInstanceOf(StoreUnavailableError);
      expect((r.error as StoreUnavailableError).code).toBe('unavailable');
      ms.push(r.ms);
    }
    expect(Math.max(...ms)).toBeLessThan(250);
    expect(ms.sort((x, y) => x - y)[10]).toBeLessThan(10);
    const write = await timed(stores.sessions.deleteExpired(0));
    expect(write.error).toBeInstanceOf(StoreUnavailableError);
    expect(write.ms).toBeLessThan(250);

    pgServer.resume();
    expect(await until(() => stores.health.parts().database!.breaker === 'closed', 5000)).toBe(true);
    expect(await stores.users.findById(u.id)).toEqual(u);
  }, 30_000);

  it('stopped: refused at once while down; closes again after a restart', async () => {
    const u = makeUser();
    await stores.users.create(u);
    await pgServer.stop();
    const first = await timed(stores.users.findById(u.id));
    expect(first.error).toBeInstanceOf(StoreUnavailableError);
    expect(stores.health.parts().database).toMatchObject({ state: 'down' });
    expect(stores.health.parts().database!.code).toMatch(/^(ECONNREFUSED|ECONNRESET|57P01|57P03)$/);
    for (let i = 0; i < 10; i++) {
      const r = await timed(stores.users.findById(u.id));
      expect(r.error).toBeInstanceOf(StoreUnavailableError);
      expect(r.ms).toBeLessThan(250);
    }
    await pgServer.start();
    expect(await until(() => stores.health.parts().database!.breaker === 'closed', 10_000)).toBe(true);
    expect(await stores.users.findById(u.id)).toEqual(u);
  }, 40_000);
});
