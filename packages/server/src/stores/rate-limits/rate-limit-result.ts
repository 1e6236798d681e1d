import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimitResult, RateLimitRule } from '../types.js';

/** The shared rules of every RateLimitStore backend (memory and Redis). */
export function checkRule(rule: RateLimitRule): void {
  if (!Number.isInteger(rule.points) || rule.points < 1 || !Number.isInteger(rule.durationSec) || rule.durationSec < 1) {
    throw new RangeError('A rate-limit rule needs whole points >= 1 and durationSec >= 1.');
  }
}

export function resultOf(res: RateLimiterRes, rule: RateLimitRule, allowed: boolean): RateLimitResult {
  return {
    allowed,
    remaining: allowed ? Math.max(rule.points - res.consumedPoints, 0) : 0,
    retryAfterMs: allowed ? 0 : Math.max(res.msBeforeNext, 0),
    consumed: res.consumedPoints,
  };
}

/** One atomic consume on a rate-limiter-flexible limiter, refusal included, as a RateLimitResult. */
export async function consumeWith(limiter: RateLimiterAbstract, key: string, rule: RateLimitRule, cost: number): Promise<RateLimitResult> {
  if (!Number.isInteger(cost) || cost < 1) throw new RangeError('A rate-limit cost is a whole number >= 1.');
  try {
    return resultOf(await limiter.consume(key, cost), rule, true);
  } catch (err) {
    // rate-limiter-flexible rejects with the RateLimiterRes when the points are used up.
    if (err instanceof RateLimiterRes) return resultOf(err, rule, false);
    throw err;
  }
}
