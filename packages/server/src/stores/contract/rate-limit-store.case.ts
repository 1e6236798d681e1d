import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitRule, Stores } from '../types.js';
import type { MakeStores } from './fixtures.test-helpers.js';

let seq = 0;
/** A key no other test (or run against a shared backend) uses. */
const freshKey = (purpose: string): string => `contract:${purpose}:${process.pid}:${Date.now()}:${++seq}`;

/**
 * The RateLimitStore contract, run by every backend's test file. Counters use real time (the
 * backends expire keys by themselves), so the expiry test uses a 1-second window.
 */
export function runRateLimitStoreContract(name: string, makeStores: MakeStores): void {
  describe(`RateLimitStore contract: ${name}`, () => {
    let stores: Stores;
    const rule: RateLimitRule = { points: 5, durationSec: 60 };
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    it('allows `points` consumes, then refuses with the time left in the window', async () => {
      const key = freshKey('basic');
      for (let i = 1; i <= 5; i++) {
        expect(await stores.rateLimits.consume(key, rule)).toEqual({ allowed: true, remaining: 5 - i, retryAfterMs: 0, consumed: i });
      }
      const refused = await stores.rateLimits.consume(key, rule);
      expect(refused.allowed).toBe(false);
      expect(refused.remaining).toBe(0);
      expect(refused.retryAfterMs).toBeGreaterThan(55_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
      // Still refused: refusals do not free anything.
      expect((await stores.rateLimits.consume(key, rule)).allowed).toBe(false);
    });

    it('is atomic: 30 parallel consumes of one key allow exactly `points`', async () => {
      const key = freshKey('parallel');
      const results = await Promise.all(Array.from({ length: 30 }, () => stores.rateLimits.consume(key, rule)));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterMs > 0)).toBe(true);
    });

    it('charges a cost of several points', async () => {
      const key = freshKey('cost');
      expect(await stores.rateLimits.consume(key, rule, 3)).toMatchObject({ allowed: true, remaining: 2 });
      expect((await stores.rateLimits.consume(key, rule, 3)).allowed).toBe(false);
    });

    it('keeps keys apart', async () => {
      const a = freshKey('a');
      const b = freshKey('b');
      for (let i = 0; i < 5; i++) await stores.rateLimits.consume(a, rule);
      expect((await stores.rateLimits.consume(a, rule)).allowed).toBe(false);
      expect(await stores.rateLimits.consume(b, rule)).toMatchObject({ allowed: true, remaining: 4 });
    });

    it('peek reports without consuming', async () => {
      const key = freshKey('peek');
      expect(await stores.rateLimits.peek(key, rule)).toEqual({ allowed: true, remaining: 5, retryAfterMs: 0, consumed: 0 });
      await stores.rateLimits.consume(key, rule, 4);
      expect(await stores.rateLimits.peek(key, rule)).toMatchObject({ allowed: true, remaining: 1, consumed: 4 });
      expect(await stores.rateLimits.peek(key, rule)).toMatchObject({ allowed: true, remaining: 1, consumed: 4 });
      await stores.rateLimits.consume(key, rule);
      const full = await stores.rateLimits.peek(key, rule);
      expect(full).toMatchObject({ allowed: false, remaining: 0, consumed: 5 });
      expect(full.retryAfterMs).toBeGreaterThan(0);
    });

    it('refund gives back points consumed moments ago', async () => {
      const key = freshKey('refund');
      for (let i = 0; i < 5; i++) await stores.rateLimits.consume(key, rule);
      expect((await stores.rateLimits.peek(key, rule)).allowed).toBe(false);
      await stores.rateLimits.refund(key, rule);
      expect(await stores.rateLimits.peek(key, rule)).toMatchObject({ allowed: true, remaining: 1, consumed: 4 });
      await stores.rateLimits.refund(key, rule, 2);
      expect(await stores.rateLimits.consume(key, rule)).toMatchObject({ allowed: true, remaining: 2 });
    });

    it('reset frees the key at once', async () => {
      const key = freshKey('reset');
      for (let i = 0; i < 6; i++) await stores.rateLimits.consume(key, rule);
      expect((await stores.rateLimits.peek(key, rule)).allowed).toBe(false);
      await stores.rateLimits.reset(key);
      expect(await stores.rateLimits.peek(key, rule)).toMatchObject({ allowed: true, remaining: 5 });
      expect(await stores.rateLimits.consume(key, rule)).toMatchObject({ allowed: true, remaining: 4 });
      await stores.rateLimits.reset(freshKey('never-used')); // no error
    });

    it('counters expire by themselves at the end of the window', async () => {
      const key = freshKey('expiry');
      const short: RateLimitRule = { points: 2, durationSec: 1 };
      await stores.rateLimits.consume(key, short);
      await stores.rateLimits.consume(key, short);
      const refused = await stores.rateLimits.consume(key, short);
      expect(refused.allowed).toBe(false);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1000);
      const deadline = Date.now() + 3000;
      await new Promise((r) => setTimeout(r, refused.retryAfterMs + 20));
      while (!(await stores.rateLimits.peek(key, short)).allowed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await stores.rateLimits.consume(key, short)).toMatchObject({ allowed: true, remaining: 1 });
    });

    it('refuses nonsense rules and costs', async () => {
      await expect(stores.rateLimits.consume(freshKey('bad'), { points: 0, durationSec: 60 })).rejects.toThrow();
      await expect(stores.rateLimits.consume(freshKey('bad'), { points: 1, durationSec: 0 })).rejects.toThrow();
      await expect(stores.rateLimits.consume(freshKey('bad'), rule, 0)).rejects.toThrow();
    });
  });
}
