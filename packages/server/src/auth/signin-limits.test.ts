import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KNOWN_DEVICE_COOKIE } from './device-cookie.js';
import { StoreUnavailableError } from '../errors/index.js';
import { createAuthHarness, leakingBodies, setCookieLine, signin, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

const WRONG = 'definitely-not-it-77';

/** Per-account lock and device cookies. Per-IP limits are off here (see the second describe). */
describe('per-account sign-in lock', () => {
  let h: AuthHarness;
  let n = 0;
  /** A fresh account per test (the lock is per username). */
  async function account(prefix = 'lock'): Promise<string> {
    const name = `${prefix}${++n}user`;
    expect((await signup(h.app, name)).statusCode).toBe(201);
    return name;
  }
  function tokenGrant(params: Record<string, string>, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(params).toString(),
    });
  }
  function expectLocked(res: LightMyRequestResponse): void {
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'rate_limited', status: 429 });
    const retry = Number(res.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(900);
    expect(setCookieLine(res, 'gatehouse_session')).toBeUndefined();
  }
  async function fail(times: number, username: string, headers: Record<string, string> = {}): Promise<void> {
    for (let i = 0; i < times; i++) expect((await signin(h.app, { username, password: WRONG }, headers)).statusCode).toBe(401);
  }
  function knownDeviceCookie(res: LightMyRequestResponse): string {
    const c = res.cookies.find((x) => x.name === KNOWN_DEVICE_COOKIE);
    if (!c) throw new Error('no known-device cookie');
    return c.value;
  }

  beforeAll(async () => {
    h = await createAuthHarness();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    expect(leakingBodies(h)).toEqual([]);
    await h.close();
  });

  it('locks after 5 failures across device ids, IPs and case/width variants; a right password is refused too', async () => {
    const name = await account('dora');
    const variants = [name, name.toUpperCase(), name.replace(/^d/, 'D'), name.toUpperCase().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)), name];
    for (const [i, v] of variants.entries()) {
      const res = await signin(h.app, { username: v, password: WRONG, device_id: `device-${i}` }, { 'x-gatehouse-client-ip': `203.0.113.${i + 1}` });
      expect(res.statusCode).toBe(401);
    }
    const spy = vi.spyOn(h.auth.hasher, 'verify');
    const right = await signin(h.app, { username: name.toUpperCase(), password: STRONG_PASSWORD, device_id: 'fresh' }, { 'x-gatehouse-client-ip': '198.51.100.99' });
    expectLocked(right);
    expect(right.json().detail).toMatch(/Try again in \d+ seconds?\./);
    expect(spy).not.toHaveBeenCalled(); // refused before any hashing
  });

  it('locks unknown usernames alike', async () => {
    await fail(5, 'nobody-at-all');
    expectLocked(await signin(h.app, { username: 'NOBODY-AT-ALL', password: WRONG }));
  });

  it('30 parallel wrong guesses check at most 5 passwords; the rest get 429', async () => {
    const name = await account('para');
    const spy = vi.spyOn(h.auth.hasher, 'verify');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => signin(h.app, { username: name, password: `${WRONG}-${i}` })));
    expect(spy.mock.calls.length).toBeLessThanOrEqual(5);
    expect(answers.filter((r) => r.statusCode === 401)).toHaveLength(5);
    expect(answers.filter((r) => r.statusCode === 429)).toHaveLength(25);
  });

  it('a success resets the count', async () => {
    const name = await account('reset');
    await fail(4, name);
    expect((await signin(h.app, { username: name, password: STRONG_PASSWORD })).statusCode).toBe(200);
    await fail(5, name);
    expectLocked(await signin(h.app, { username: name, password: WRONG }));
  });

  it('a sign-in the user store could not answer (503) does not count: retrying through an outage does not lock the account', async () => {
    const name = await account('outage');
    await fail(4, name);
    const away = vi.spyOn(h.deps.stores.users, 'findByCanonical').mockRejectedValue(new StoreUnavailableError('users', new Error('connection refused')));
    for (let i = 0; i < 6; i++) expect((await signin(h.app, { username: name, password: STRONG_PASSWORD })).statusCode).toBe(503);
    away.mockRestore();
    // Four failures counted, none of the six outage attempts: one attempt is left, and it is the right password.
    expect((await signin(h.app, { username: name, password: STRONG_PASSWORD })).statusCode).toBe(200);
    await fail(5, name);
    expectLocked(await signin(h.app, { username: name, password: STRONG_PASSWORD }));
  });

  it('the password grant shares the lock with sign-in (and answers 429 as problem+json)', async () => {
    const name = await account('grant');
    await fail(3, name);
    for (let i = 0; i < 2; i++) {
      const res = await tokenGrant({ grant_type: 'password', username: name.toUpperCase(), password: WRONG, device_id: 'tv-1' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'invalid_grant' });
    }
    const locked = await tokenGrant({ grant_type: 'password', username: name, password: STRONG_PASSWORD, device_id: 'tv-1' });
    expectLocked(locked);
    expectLocked(await signin(h.app, { username: name, password: STRONG_PASSWORD }));
  });

  it('a browser with a valid device cookie for the account passes the lock, on its own small budget', async () => {
    const name = await account('known');
    const first = await signin(h.app, { username: name, password: STRONG_PASSWORD });
    expect(first.statusCode).toBe(200);
    const line = setCookieLine(first, KNOWN_DEVICE_COOKIE)!;
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/SameSite=Lax/i);
    expect(line).toMatch(/Path=\/auth(;|$)/);
    expect(line).toMatch(/Max-Age=31536000/);
    expect(line).not.toMatch(/Secure/i);
    const cookie = knownDeviceCookie(first);
    expect(cookie).not.toContain(name); // the cookie does not name the account

    // An attacker locks the account from elsewhere.
    await fail(5, name, { 'x-gatehouse-client-ip': '192.0.2.66' });
    expectLocked(await signin(h.app, { username: name, password: STRONG_PASSWORD }));
    // The real user's browser still gets in.
    const again = await signin(h.app, { username: name, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${cookie}` });
    expect(again.statusCode).toBe(200);
    // ...and keeps its nonce (its budget) when the cookie is renewed.
    expect(knownDeviceCookie(again).split('.')[0]).toBe(cookie.split('.')[0]);

    // Its own budget: 10 failures, then 429 for that device too.
    for (let i = 0; i < 10; i++) {
      expect((await signin(h.app, { username: name, password: WRONG }, { cookie: `${KNOWN_DEVICE_COOKIE}=${cookie}` })).statusCode).toBe(401);
    }
    expectLocked(await signin(h.app, { username: name, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${cookie}` }));
  });

  it('a tampered device cookie, or one for another account, gives no exemption', async () => {
    const victim = await account('victim');
    const other = await account('other');
    const victimCookie = knownDeviceCookie(await signin(h.app, { username: victim, password: STRONG_PASSWORD }));
    const otherCookie = knownDeviceCookie(await signin(h.app, { username: other, password: STRONG_PASSWORD }));
    await fail(5, victim);
    expectLocked(await signin(h.app, { username: victim, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${otherCookie}` }));
    const [nonce, iat, mac] = victimCookie.split('.') as [string, string, string];
    const flipped = `${nonce}.${iat}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expectLocked(await signin(h.app, { username: victim, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${flipped}` }));
    const otherNonce = `${'x'.repeat(22)}.${iat}.${mac}`;
    expectLocked(await signin(h.app, { username: victim, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${otherNonce}` }));
    // The genuine one still works.
    expect((await signin(h.app, { username: victim, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${victimCookie}` })).statusCode).toBe(200);
  });

  it('keeps one entry per account (up to five): a shared browser is known for each of its accounts', async () => {
    const a = await account('sharea');
    const b = await account('shareb');
    const ca = knownDeviceCookie(await signin(h.app, { username: a, password: STRONG_PASSWORD }));
    const both = knownDeviceCookie(await signin(h.app, { username: b, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${ca}` }));
    expect(both.split('~')).toHaveLength(2);
    await fail(5, a);
    await fail(5, b);
    for (const u of [a, b]) {
      expect((await signin(h.app, { username: u, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${both}` })).statusCode).toBe(200);
    }
  });

  it('a device cookie issued more than a year ago gives no exemption (runs last: moves the clock)', async () => {
    const name = await account('old');
    const cookie = knownDeviceCookie(await signin(h.app, { username: name, password: STRONG_PASSWORD }));
    await fail(5, name);
    h.clock.advance(366 * 24 * 3600 * 1000);
    expectLocked(await signin(h.app, { username: name, password: STRONG_PASSWORD }, { cookie: `${KNOWN_DEVICE_COOKIE}=${cookie}` }));
  });
});

describe('per-IP sign-in limit', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await createAuthHarness({ abuseLimits: 'defaults' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('sprays of one password over 40 names from one IP: 30 checked, then 429, whatever X-Forwarded-For says', async () => {
    const answers: LightMyRequestResponse[] = [];
    for (let i = 0; i < 40; i++) {
      answers.push(
        await signin(h.app, { username: `spray-${i}`, password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '198.51.100.20', 'x-forwarded-for': `10.0.${i}.1` }),
      );
    }
    expect(answers.slice(0, 30).every((r) => r.statusCode === 401)).toBe(true);
    for (const r of answers.slice(30)) {
      expect(r.statusCode).toBe(429);
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(60);
    }
    // Another client address has its own bucket.
    expect((await signin(h.app, { username: 'spray-x', password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '198.51.100.21' })).statusCode).toBe(401);
  });

  it('without the gateway header, the socket address counts, never a client X-Forwarded-For', async () => {
    const answers: number[] = [];
    for (let i = 0; i < 31; i++) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/auth/signin',
        remoteAddress: '192.0.2.200',
        headers: { 'x-forwarded-for': `203.0.113.${i}`, forwarded: `for=203.0.113.${i}` },
        payload: { username: `rot-${i}`, password: STRONG_PASSWORD },
      });
      answers.push(res.statusCode);
    }
    expect(answers.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(answers[30]).toBe(429);
  });

  it('an IPv6 client is limited by its /64', async () => {
    for (let i = 0; i < 30; i++) {
      const ip = `2001:db8:1:2::${(i + 1).toString(16)}`;
      expect((await signin(h.app, { username: `v6-${i}`, password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': ip })).statusCode).toBe(401);
    }
    expect((await signin(h.app, { username: 'v6-x', password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '2001:db8:1:2:ffff::1' })).statusCode).toBe(429);
    expect((await signin(h.app, { username: 'v6-y', password: STRONG_PASSWORD }, { 'x-gatehouse-client-ip': '2001:db8:1:3::1' })).statusCode).toBe(401);
  });
});
