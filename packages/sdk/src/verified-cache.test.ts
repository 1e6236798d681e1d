import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassportVerifier } from './index.js';
import { AUDIENCE, ISSUER, frozenClock, jwksOf, makeKey, signPassport } from './jwks-server.test-helpers.js';
import type { TestKey } from './jwks-server.test-helpers.js';
import { VerifiedCache } from './verified-cache.js';

describe('VerifiedCache', () => {
  it('returns a value until it expires, then forgets it', () => {
    const c = new VerifiedCache<string>(10);
    c.set('a', 'A', 1000, 0);
    expect(c.get('a', 999)).toBe('A');
    expect(c.get('a', 1000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the oldest entry when full', () => {
    const c = new VerifiedCache<number>(3);
    for (let i = 0; i < 5; i++) c.set(`k${i}`, i, 1000, 0);
    expect(c.size).toBe(3);
    expect(c.get('k0', 0)).toBeUndefined();
    expect(c.get('k1', 0)).toBeUndefined();
    expect(c.get('k4', 0)).toBe(4);
  });

  it('stores nothing already expired, nothing when max is 0', () => {
    const c = new VerifiedCache<number>(3);
    c.set('a', 1, 10, 10);
    expect(c.size).toBe(0);
    const off = new VerifiedCache<number>(0);
    off.set('a', 1, 1000, 0);
    expect(off.get('a', 0)).toBeUndefined();
  });
});

describe('verified-passport cache in the verifier', () => {
  let key: TestKey;
  beforeAll(async () => {
    key = await makeKey('k1');
  });
  afterAll(() => undefined);

  function counted(clock: ReturnType<typeof frozenClock>, extra: { cacheMax?: number; maxTokenAgeSec?: number } = {}) {
    const calls = { n: 0 };
    let keys = jwksOf(key);
    const verifier = createPassportVerifier({
      jwks: () => {
        calls.n += 1;
        return keys;
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      now: clock.now,
      jwksCacheMaxAgeMs: 0, // every full verification asks the key source: counts verifications
      ...extra,
    });
    return { verifier, calls, dropKeys: () => (keys = { keys: [] }) };
  }

  it('answers a repeated passport from the cache without verifying it again', async () => {
    const clock = frozenClock();
    const { verifier, calls, dropKeys } = counted(clock);
    const token = await signPassport(key, { nowSec: Math.floor(clock.now() / 1000) });
    const first = await verifier.verify(token);
    expect(calls.n).toBe(1);
    dropKeys(); // a full verification would now fail
    for (let i = 0; i < 5; i++) expect(await verifier.verify(token)).toBe(first);
    expect(calls.n).toBe(1);
  });

  it('still refuses a cached passport once it has expired', async () => {
    const clock = frozenClock();
    const { verifier } = counted(clock);
    const token = await signPassport(key, { nowSec: Math.floor(clock.now() / 1000) });
    await verifier.verify(token);
    clock.advance(59_000);
    await expect(verifier.verify(token)).resolves.toBeTruthy();
    clock.advance(120_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'passport_expired' });
  });

  it('drops a cached passport once it is older than maxTokenAge, even before exp', async () => {
    const clock = frozenClock();
    const { verifier, calls } = counted(clock, { maxTokenAgeSec: 30 });
    const nowSec = Math.floor(clock.now() / 1000);
    const token = await signPassport(key, { nowSec, claims: { exp: nowSec + 3600 } });
    await verifier.verify(token);
    clock.advance(31_000);
    // The cache entry is gone; full verification runs (within the clock tolerance it passes).
    await verifier.verify(token);
    expect(calls.n).toBe(2);
    clock.advance(10_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'passport_expired' });
  });

  it('never caches a failure', async () => {
    const clock = frozenClock();
    let fail = true;
    const verifier = createPassportVerifier({
      jwks: () => {
        if (fail) throw new Error('down');
        return jwksOf(key);
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      now: clock.now,
    });
    const token = await signPassport(key, { nowSec: Math.floor(clock.now() / 1000) });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'jwks_unreachable' });
    fail = false;
    await expect(verifier.verify(token)).resolves.toBeTruthy();
  });

  it('verifies a burst of one new passport once', async () => {
    const clock = frozenClock();
    const { verifier, calls } = counted(clock);
    const token = await signPassport(key, { nowSec: Math.floor(clock.now() / 1000) });
    const results = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(token)));
    expect(new Set(results).size).toBe(1);
    expect(calls.n).toBe(1);
  });
});
