import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { RateLimitResult, RateLimitRule, RateLimitStore } from '../types.js';
import { checkRule, consumeWith, resultOf } from './rate-limit-result.js';

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
    return consumeWith(this.limiter(rule), key, rule, cost);
  }

  async refund(key: string, rule: RateLimitRule, points = 1): Promise<void> {
    checkRule(rule);
    await this.limiter(rule).reward(key, points);
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
