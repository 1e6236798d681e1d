import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitResult, RateLimitRule, RateLimitStore } from '../types.js';

function checkRule(rule: RateLimitRule): void {
  if (!Number.isInteger(rule.points) || rule.points < 1 || !Number.isInteger(rule.durationSec) || rule.durationSec < 1) {
    throw new RangeError('A rate-limit rule needs whole points >= 1 and durationSec >= 1.');
  }
}

function resultOf(res: RateLimiterRes, rule: RateLimitRule, allowed: boolean): RateLimitResult {
  return {
    allowed,
    remaining: allowed ? Math.max(rule.points - res.consumedPoints, 0) : 0,
    retryAfterMs: allowed ? 0 : Math.max(res.msBeforeNext, 0),
    consumed: res.consumedPoints,
  };
}

/**
 * RateLimitStore in process memory (rate-limiter-flexible's RateLimiterMemory): one limiter per
 * rule, created on first use and cached. Counters expire at the end of their window by themselves.
 * Consumes are synchronous inside the limiter, so parallel consumes of one key are atomic.
 * Per instance only: with several instances, use the Redis backend.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly limiters = new Map<string, RateLimiterMemory>();

  private limiter(rule: RateLimitRule): RateLimiterMemory {
    checkRule(rule);
    const id = `${rule.points}/${rule.durationSec}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: rule.points, duration: rule.durationSec });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  async consume(key: string, rule: RateLimitRule, cost = 1): Promise<RateLimitResult> {
    if (!Number.isInteger(cost) || cost < 1) throw new RangeError('A rate-limit cost is a whole number >= 1.');
    const limiter = this.limiter(rule);
    try {
      return resultOf(await limiter.consume(key, cost), rule, true);
    } catch (err) {
      // rate-limiter-flexible rejects with the RateLimiterRes when the points are used up.
      if (err instanceof RateLimiterRes) return resultOf(err, rule, false);
      throw err;
    }
  }

  async reset(key: string): Promise<void> {
    for (const limiter of this.limiters.values()) await limiter.delete(key);
  }

  async peek(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const res = await this.limiter(rule).get(key);
    if (res === null || res.msBeforeNext <= 0) return { allowed: true, remaining: rule.points, retryAfterMs: 0, consumed: 0 };
    const allowed = res.consumedPoints < rule.points;
    return resultOf(res, rule, allowed);
  }
}
