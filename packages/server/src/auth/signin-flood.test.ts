import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KNOWN_DEVICE_COOKIE } from './device-cookie.js';
import { createAuthHarness, leakingBodies, passportFor, signin, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

/**
 * Issue 11 item 4: a flood of unknown-user sign-ins from many addresses (each under its per-IP
 * limit) must not queue without bound in front of the hashing threads. Real argon2id, one
 * hashing thread, a 1 s wait bound.
 */
const MAX_WAIT_MS = 1000;

interface Timed {
  res: LightMyRequestResponse;
  ms: number;
}

describe('sign-in flood: bounded hash queue', () => {
  let h: AuthHarness;
  let aliceCookie: string;
  let bobCookie: string;

  function timed(p: Promise<LightMyRequestResponse>, t0: number): Promise<Timed> {
    return p.then((res) => ({ res, ms: performance.now() - t0 }));
  }
  /**
   * A flood: the queue is first filled with real argon2id work (places taken until the normal
   * lane refuses, as the flood's first sign-ins would take them), then `size` concurrent
   * unknown-user sign-ins, each from its own address, arrive at the full queue. Filling first
   * keeps the test independent of how fast this machine serves requests next to hashing.
   * `drained` resolves (ms since t0) when the work queued first is done.
   */
  /** Takes every place of the normal lane left with real argon2id work; the hashes, to await. */
  function fillQueue(prefix: string): Array<Promise<string>> {
    const hasher = h.auth.hasher;
    const queued: Array<Promise<string>> = [];
    for (let i = 0; i < 400; i++) {
      let ticket;
      try {
        ticket = hasher.admit({ lane: 'normal' });
      } catch {
        break;
      }
      queued.push(hasher.hash(`${prefix}-queued-${i}`, ticket));
    }
    return queued;
  }
  function flood(prefix: string, size = 40): { all: Promise<Timed[]>; t0: number; size: number; drained: Promise<number> } {
    const t0 = performance.now();
    const queued = fillQueue(prefix);
    const drained = Promise.all(queued).then(() => performance.now() - t0);
    const all = Promise.all(
      Array.from({ length: size }, (_, i) =>
        timed(signin(h.app, { username: `${prefix}-nobody-${i}`, password: 'guess-guess-guess' }, { 'x-gatehouse-client-ip': `198.18.${i >> 8}.${i & 255}` }), t0),
      ),
    );
    return { all, t0, size, drained };
  }
  function expectBusy(res: LightMyRequestResponse): void {
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'busy', status: 503 });
    const retry = Number(res.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(res.json().retry_after).toBe(retry);
    expect(res.headers['set-cookie']).toBeUndefined();
  }

  beforeAll(async () => {
    h = await createAuthHarness({
      abuseLimits: 'defaults',
      config: (c) => {
        c.password.maxConcurrentHashes = 1;
        c.password.maxHashWaitMs = MAX_WAIT_MS;
        c.password.maxQueuedHashesPerIp = 4;
        c.password.maxQueuedHashesPerUsername = 2;
      },
    });
    for (const name of ['alice', 'bob']) expect((await signup(h.app, name)).statusCode).toBe(201);
    const cookieOf = async (username: string): Promise<string> => {
      const res = await signin(h.app, { username, password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '192.0.2.10' });
      expect(res.statusCode).toBe(200);
      return res.cookies.find((c) => c.name === KNOWN_DEVICE_COOKIE)!.value;
    };
    aliceCookie = await cookieOf('alice');
    bobCookie = await cookieOf('bob');
  });
  afterAll(async () => {
    expect(leakingBodies(h)).toEqual([]);
    await h.close();
  });

  it('refuses the overflow at once with 503 busy + Retry-After, while a known-device sign-in jumps the queue', async () => {
    const errors = vi.spyOn(h.deps.logger, 'error');
    const warnings = vi.spyOn(h.deps.logger, 'warn');
    const { all, t0, size, drained } = flood('f1');
    const tk = performance.now();
    const known = await signin(h.app, { username: 'alice', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${aliceCookie}`, 'x-gatehouse-client-ip': '192.0.2.10' });
    const knownMs = performance.now() - tk;
    expect(known.statusCode).toBe(200);
    const answers = await all;
    const drainedAt = await drained;

    const refused = answers.filter((a) => a.res.statusCode === 503);
    const checked = answers.filter((a) => a.res.statusCode === 401);
    expect(refused.length + checked.length).toBe(size);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expectBusy(a.res);
    // Refusals do not wait for the queue: every one came before the work queued first was done.
    expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(drainedAt);
    // The known-device sign-in jumped the queue (the hash running when it came, then its own),
    // well within the lane's bound, where a place in the normal lane would have waited ~1 s.
    expect(knownMs).toBeLessThan(drainedAt);
    expect(knownMs).toBeLessThan(MAX_WAIT_MS);
    // Refusals are not errors: no error line per request, one `hash.busy` warning a second at most.
    expect(errors).not.toHaveBeenCalled();
    const busyLines = warnings.mock.calls.filter(([o]) => (o as { event?: string }).event === 'hash.busy');
    expect(busyLines.length).toBeGreaterThanOrEqual(1);
    expect(busyLines.length).toBeLessThanOrEqual(Math.ceil((performance.now() - t0) / 1000) + 1);
    errors.mockRestore();
    warnings.mockRestore();
  });

  it('a device cookie for another account, or a forged one, gets no lane of its own', async () => {
    const { all, drained } = flood('f2', 10);
    expectBusy(await signin(h.app, { username: 'alice', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${bobCookie}`, 'x-gatehouse-client-ip': '192.0.2.11' }));
    const forged = `${aliceCookie.slice(0, -3)}${aliceCookie.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expectBusy(await signin(h.app, { username: 'alice', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${forged}`, 'x-gatehouse-client-ip': '192.0.2.11' }));
    expect((await signin(h.app, { username: 'bob', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${bobCookie}`, 'x-gatehouse-client-ip': '192.0.2.11' })).statusCode).toBe(200);
    await Promise.all([all, drained]);
  });

  it('every hashing path shares the queue: the password grant (OAuth-shaped), sign-up and password change are refused meanwhile', async () => {
    const session = await signinOk(h.app, { username: 'bob', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${bobCookie}` });
    const passport = await passportFor(h.deps, session);
    const { all, drained } = flood('f3', 10);
    const grant = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-gatehouse-client-ip': '192.0.2.12' },
      payload: new URLSearchParams({ grant_type: 'password', username: 'bob', password: STRONG_PASSWORD, device_id: 'tv-1' }).toString(),
    });
    expect(grant.statusCode).toBe(503);
    expect(grant.headers['content-type']).toMatch(/^application\/json/);
    expect(grant.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(Number(grant.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // Each path meets a full queue, however long the previous request took on a busy box (the
    // places the first work frees are taken again; what this test checks is the refusal).
    const refills = [fillQueue('f3-signup')];
    expectBusy(await h.app.inject({ method: 'POST', url: '/auth/signup', headers: { 'x-gatehouse-client-ip': '192.0.2.13' }, payload: { username: 'carol', password: STRONG_PASSWORD } }));
    expect(await h.deps.stores.users.findByCanonical('carol')).toBeNull();

    refills.push(fillQueue('f3-password'));
    expectBusy(
      await h.app.inject({
        method: 'POST',
        url: '/auth/password',
        headers: { 'x-passport': passport, 'x-gatehouse-client-ip': '192.0.2.14' },
        payload: { current_password: STRONG_PASSWORD, new_password: 'another-vivid-otter-43' },
      }),
    );
    await Promise.all([all, drained, ...refills.flat()]);
    // The refusals cost no account budget: bob's five failures are all still there.
    for (let i = 0; i < 5; i++) expect((await signin(h.app, { username: 'bob', password: 'wrong-wrong-wrong' })).statusCode).toBe(401);
  });
});

/** The shares alone: a wait bound far away, so only one address's or one username's share refuses. */
describe('sign-in flood: per-address and per-username shares of the hash queue', () => {
  let h: AuthHarness;
  let aliceCookie: string;
  beforeAll(async () => {
    h = await createAuthHarness({
      abuseLimits: 'defaults',
      config: (c) => {
        c.password.maxConcurrentHashes = 1;
        c.password.maxHashWaitMs = 60_000;
        c.password.maxQueuedHashesPerIp = 4;
        c.password.maxQueuedHashesPerUsername = 2;
      },
    });
    expect((await signup(h.app, 'alice')).statusCode).toBe(201);
    const res = await signin(h.app, { username: 'alice', password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '192.0.2.10' });
    expect(res.statusCode).toBe(200);
    aliceCookie = res.cookies.find((c) => c.name === KNOWN_DEVICE_COOKIE)!.value;
  });
  afterAll(async () => {
    expect(leakingBodies(h)).toEqual([]);
    await h.close();
  });
  function expectShareRefusal(res: LightMyRequestResponse, detail: RegExp): void {
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 'busy', status: 503 });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(res.json().detail).toMatch(detail);
  }

  it('one address cannot fill the queue', async () => {
    const hasher = h.auth.hasher;
    let peak = 0;
    let sampling = true;
    void (async () => {
      while (sampling) {
        peak = Math.max(peak, hasher.load().admitted);
        await new Promise((r) => setImmediate(r));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signin(h.app, { username: `one-ip-${i}`, password: 'guess-guess-guess' }, { 'x-gatehouse-client-ip': '203.0.113.50' })),
    );
    sampling = false;
    const refused = answers.filter((r) => r.statusCode === 503);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expectShareRefusal(r, /from your network/);
    expect(peak).toBeLessThanOrEqual(4);
    expect(answers.filter((r) => r.statusCode === 401).length).toBeGreaterThanOrEqual(4);
    // Another address is admitted meanwhile.
    expect((await signin(h.app, { username: 'one-ip-x', password: 'guess-guess-guess' }, { 'x-gatehouse-client-ip': '203.0.113.51' })).statusCode).toBe(401);
  });

  it("one username cannot fill the queue (per lane: its owner's browser still gets in)", async () => {
    const answers = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => signin(h.app, { username: 'alice', password: `wrong-${i}-wrong` }, { 'x-gatehouse-client-ip': `198.19.0.${i + 1}` })),
      signin(h.app, { username: 'alice', password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${aliceCookie}`, 'x-gatehouse-client-ip': '192.0.2.10' }),
    ]);
    const guesses = answers.slice(0, 4);
    expect(guesses.filter((r) => r.statusCode === 401)).toHaveLength(2);
    const refused = guesses.filter((r) => r.statusCode === 503);
    expect(refused).toHaveLength(2);
    for (const r of refused) expectShareRefusal(r, /for this account/);
    expect(answers[4]!.statusCode).toBe(200);
  });
});
