import type { LightMyRequestResponse } from 'fastify';
import { solveChallenge } from 'altcha-lib/v1';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GatehouseConfig } from '../config/types.js';
import { createAuthHarness, leakingBodies, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

interface ChallengeJson {
  algorithm: string;
  challenge: string;
  maxnumber: number;
  maxNumber: number;
  salt: string;
  signature: string;
}

let h: AuthHarness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  if (h) {
    expect(leakingBodies(h)).toEqual([]);
    await h.close();
    h = undefined;
  }
});

async function harness(abuseLimits: 'relaxed' | 'defaults', config?: (c: GatehouseConfig) => void): Promise<AuthHarness> {
  h = await createAuthHarness({
    abuseLimits,
    config: (c) => {
      c.signup.challengeMaxNumber = 2000; // fast to solve in tests
      config?.(c);
    },
  });
  return h;
}

function signupFrom(hh: AuthHarness, ip: string, username: string, extra: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  return hh.app.inject({
    method: 'POST',
    url: '/auth/signup',
    headers: { 'x-gatehouse-client-ip': ip },
    payload: { username, password: STRONG_PASSWORD, ...extra },
  });
}

async function getChallenge(hh: AuthHarness): Promise<ChallengeJson> {
  const res = await hh.app.inject({ method: 'GET', url: '/auth/challenge' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json() as ChallengeJson;
}

async function solve(c: ChallengeJson, override: Partial<{ number: number; signature: string; algorithm: string }> = {}): Promise<string> {
  const solution = await solveChallenge(c.challenge, c.salt, c.algorithm, c.maxnumber).promise;
  if (!solution) throw new Error('unsolvable challenge');
  const payload = { algorithm: c.algorithm, challenge: c.challenge, number: solution.number, salt: c.salt, signature: c.signature, ...override };
  return Buffer.from(JSON.stringify(payload)).toString('base64');
}

function expectCode(res: LightMyRequestResponse, status: number, code: string): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.json()).toMatchObject({ code, status });
}

describe('sign-up per-IP limit', () => {
  it('a flood from one IP creates no account beyond 10 a minute; other IPs are unaffected', async () => {
    const hh = await harness('defaults', (c) => {
      c.signup.autoChallenge.perIpPerMinute = 0;
      c.signup.autoChallenge.globalPerMinute = 0;
    });
    const answers: LightMyRequestResponse[] = [];
    for (let i = 0; i < 15; i++) answers.push(await signupFrom(hh, '203.0.113.5', `flood${i}`, {}));
    expect(answers.slice(0, 10).every((r) => r.statusCode === 201)).toBe(true);
    for (const r of answers.slice(10)) {
      expectCode(r, 429, 'rate_limited');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(await hh.deps.stores.users.list()).toHaveLength(10);
    // Rotating X-Forwarded-For changes nothing; another gateway-resolved address does.
    const rotated = await hh.app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: { 'x-gatehouse-client-ip': '203.0.113.5', 'x-forwarded-for': '198.51.100.1' },
      payload: { username: 'flood-xff', password: STRONG_PASSWORD },
    });
    expectCode(rotated, 429, 'rate_limited');
    expect((await signupFrom(hh, '203.0.113.6', 'elsewhere')).statusCode).toBe(201);
  });
});

describe('sign-up proof-of-work', () => {
  it('is off by default', async () => {
    const hh = await harness('relaxed');
    expect(hh.deps.config.signup.challenge).toBe('off');
    for (let i = 0; i < 5; i++) expect((await signupFrom(hh, '203.0.113.9', `plain${i}`)).statusCode).toBe(201);
  });

  it('required by config: a clear 400 challenge_required, then a solved challenge is accepted once', async () => {
    const hh = await harness('relaxed', (c) => {
      c.signup.challenge = 'pow';
    });
    const spy = vi.spyOn(hh.auth.hasher, 'hash');
    const missing = await signupFrom(hh, '203.0.113.9', 'powuser');
    expectCode(missing, 400, 'challenge_required');
    const detail = missing.json().detail as string;
    expect(detail).toContain('GET /auth/challenge');
    expect(detail).toContain('SHA-256(salt + number)');
    expect(detail).toContain('base64(JSON {algorithm, challenge, number, salt, signature})');
    expect(spy).not.toHaveBeenCalled(); // no hashing for a refused sign-up

    const c = await getChallenge(hh);
    expect(c).toEqual({
      algorithm: 'SHA-256',
      challenge: expect.stringMatching(/^[0-9a-f]{64}$/),
      maxnumber: 2000,
      maxNumber: 2000,
      salt: expect.stringMatching(/\?expires=\d+&$/),
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const solution = await solve(c);
    expect((await signupFrom(hh, '203.0.113.9', 'powuser', { challenge: solution })).statusCode).toBe(201);
    // Replayed: refused.
    const replay = await signupFrom(hh, '203.0.113.9', 'powuser2', { challenge: solution });
    expectCode(replay, 400, 'invalid_challenge');
    expect(replay.json().detail).toMatch(/used already/);
    expect(await hh.deps.stores.users.findByCanonical('powuser2')).toBeNull();
  });

  it('refuses wrong, forged, garbled and expired solutions', async () => {
    const hh = await harness('relaxed', (c) => {
      c.signup.challenge = 'pow';
    });
    const c = await getChallenge(hh);
    const right = JSON.parse(Buffer.from(await solve(c), 'base64').toString()) as { number: number };
    const wrongNumber = await solve(c, { number: right.number === 0 ? 1 : right.number - 1 });
    expectCode(await signupFrom(hh, '203.0.113.9', 'bad1', { challenge: wrongNumber }), 400, 'invalid_challenge');
    const forged = await solve(c, { signature: 'f'.repeat(64) });
    expectCode(await signupFrom(hh, '203.0.113.9', 'bad2', { challenge: forged }), 400, 'invalid_challenge');
    const sha1 = await solve(c, { algorithm: 'SHA-1' });
    expectCode(await signupFrom(hh, '203.0.113.9', 'bad3', { challenge: sha1 }), 400, 'invalid_challenge');
    expectCode(await signupFrom(hh, '203.0.113.9', 'bad4', { challenge: 'not base64 json' }), 400, 'invalid_challenge');
    // A challenge signed by another instance's key (another master key) is refused.
    const other = await createAuthHarness({ config: (x) => (x.signup.challengeMaxNumber = 2000) });
    try {
      const foreign = await solve(await getChallenge(other));
      expectCode(await signupFrom(hh, '203.0.113.9', 'bad5', { challenge: foreign }), 400, 'invalid_challenge');
    } finally {
      await other.close();
    }
    // Expired: solved after its 10 minutes.
    const late = await getChallenge(hh);
    const lateSolution = await solve(late);
    hh.clock.advance(10 * 60 * 1000 + 1000);
    const expired = await signupFrom(hh, '203.0.113.9', 'bad6', { challenge: lateSolution });
    expectCode(expired, 400, 'invalid_challenge');
    expect(expired.json().detail).toMatch(/expired/);
    expect(await hh.deps.stores.users.list()).toHaveLength(0);
  });

  it('is not switched on per IP by default: the per-IP cap governs plain sign-ups', async () => {
    const hh = await harness('defaults');
    for (let i = 0; i < 10; i++) expect((await signupFrom(hh, '203.0.113.60', `plain${i}`)).statusCode).toBe(201);
    expectCode(await signupFrom(hh, '203.0.113.60', 'plain10'), 429, 'rate_limited');
  });

  it('switches on automatically for an IP after 3 sign-ups a minute when configured, and not for other IPs', async () => {
    const hh = await harness('defaults', (c) => {
      c.signup.autoChallenge.perIpPerMinute = 3;
    });
    for (let i = 0; i < 3; i++) expect((await signupFrom(hh, '203.0.113.50', `auto${i}`)).statusCode).toBe(201);
    expectCode(await signupFrom(hh, '203.0.113.50', 'auto3'), 400, 'challenge_required');
    expectCode(await signupFrom(hh, '203.0.113.50', 'auto4'), 400, 'challenge_required');
    expect((await signupFrom(hh, '203.0.113.51', 'neighbour')).statusCode).toBe(201);
    // A solved challenge gets through.
    const solution = await solve(await getChallenge(hh));
    expect((await signupFrom(hh, '203.0.113.50', 'auto5', { challenge: solution })).statusCode).toBe(201);
    expect(await hh.deps.stores.users.findByCanonical('auto3')).toBeNull();
  });

  it('switches on for everyone when sign-ups overall exceed the global rate', async () => {
    const hh = await harness('defaults', (c) => {
      c.signup.autoChallenge.perIpPerMinute = 0;
      c.signup.autoChallenge.globalPerMinute = 4;
    });
    for (let i = 0; i < 4; i++) expect((await signupFrom(hh, `198.51.100.${i + 1}`, `glob${i}`)).statusCode).toBe(201);
    expectCode(await signupFrom(hh, '198.51.100.77', 'glob4'), 400, 'challenge_required');
    expectCode(await signupFrom(hh, '198.51.100.78', 'glob5'), 400, 'challenge_required');
  });
});
