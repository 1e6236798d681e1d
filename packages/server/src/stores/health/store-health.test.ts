import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../util/clock.js';
import { openSqliteStores } from '../sqlite/open-sqlite-stores.js';
import { Probe } from './probe.js';
import { readiness } from './readiness.js';
import { StoreHealth } from './store-health.js';
import { captureLogs } from '../../util/log-capture.test-helpers.js';

const capture = (): ReturnType<typeof captureLogs> => captureLogs('debug');

const closers: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('StoreHealth: one log line per state change, summaries while down', () => {
  it('down once (code, reason, no stack), a summary with the refusals, back once with how long and how many', async () => {
    let failing = false;
    const probe = new Probe('database', 'PostgreSQL db:5432/app', {
      check: async () => {
        if (failing) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
      },
      intervalMs: 20,
      downIntervalMs: 20,
      timeoutMs: 100,
    });
    const health = new StoreHealth();
    closers.push(() => health.close());
    health.add(probe, { breaker: true });
    const { logger, lines } = capture();
    health.attachLogger(logger, 150);

    failing = true;
    // Many failed calls and checks: one "down" line.
    for (let i = 0; i < 50; i++) probe.fail(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }));
    for (let i = 0; i < 25; i++) health.countRefused();
    await new Promise((r) => setTimeout(r, 250));
    failing = false;
    await new Promise((r) => setTimeout(r, 100));

    expect(lines.filter((l) => l.event === 'store.down')).toEqual([
      expect.objectContaining({ level: 'warn', store: 'database', code: 'ECONNREFUSED', reason: 'connect ECONNREFUSED 10.0.0.5:5432', breaker: 'open' }),
    ]);
    const summaries = lines.filter((l) => l.event === 'store.still_down');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries[0]).toMatchObject({ level: 'warn', store: 'database', refused: 25 });
    const up = lines.filter((l) => l.event === 'store.up');
    expect(up).toEqual([expect.objectContaining({ level: 'info', store: 'database', refused: 25, downForMs: expect.any(Number) as unknown })]);
    expect(JSON.stringify(lines)).not.toContain('stack');
    expect(health.parts().database).toMatchObject({ state: 'up', breaker: 'closed' });

    // A shutdown is no outage: stopping a part logs nothing.
    const n = lines.length;
    probe.stop();
    expect(lines.length).toBe(n);
    expect(health.parts().database).toMatchObject({ state: 'down', code: 'CLOSED' });
  });
});

describe('readiness', () => {
  it('draining short-circuits to 503 before anything else; a closed store reads down', async () => {
    const stores = await openSqliteStores({ file: ':memory:', clock: new ManualClock() });
    const deps = { stores, feedMode: () => 'in-process' as const };
    expect(readiness(deps, false)).toMatchObject({ code: 200, body: { status: 'ready', stores: { users: true, rateLimits: true }, parts: { database: { state: 'up' } } } });
    expect(readiness({ ...deps, lifecycle: { draining: true } }, true)).toMatchObject({ code: 503, body: { status: 'draining' } });
    await stores.close();
    expect(readiness(deps, false)).toMatchObject({ code: 503, body: { status: 'unavailable', stores: { users: false }, parts: { database: { state: 'down', code: 'CLOSED' } } } });
    expect(readiness(deps, true)).toMatchObject({ code: 200, body: { status: 'degraded' } });
  });
});

describe('Probe against a check that never answers', () => {
  it('starts no second check while one is still out: a hung store does not pile up checks (connections)', async () => {
    let started = 0;
    let hung = true;
    const waiting: Array<() => void> = [];
    const probe = new Probe('database', 'a hung database', {
      // Every check hangs until the database is released; then they answer at once.
      check: () => {
        started++;
        return hung ? new Promise<void>((resolve) => waiting.push(resolve)) : Promise.resolve();
      },
      intervalMs: 5,
      downIntervalMs: 5,
      timeoutMs: 5,
    });
    try {
      await new Promise((r) => setTimeout(r, 150));
      expect(started).toBe(1);
      expect(probe.up).toBe(false); // timed out: down
      // The database answers at last: the breaker closes.
      hung = false;
      for (const resolve of waiting) resolve();
      for (let i = 0; i < 50 && !probe.up; i++) await new Promise((r) => setTimeout(r, 10));
      expect(probe.up).toBe(true);
    } finally {
      probe.stop();
    }
  });
});
