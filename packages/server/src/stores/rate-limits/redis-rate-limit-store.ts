import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { RateLimitResult, RateLimitRule, RateLimitStore } from '../types.js';
import { checkRule, consumeWith, resultOf } from './rate-limit-result.js';

export interface RedisRateLimitStoreOptions {
  /** A request-path client (`createRequestPathRedis`: no offline queue, short command timeout). Not closed here. */
  client: Redis;
  /** Key prefix of the counters; default `gatehouse:rl`. */
  prefix?: string;
}

/**
 * RateLimitStore on Redis (rate-limiter-flexible's RateLimiterRedis on an ioredis client): one
 * Lua script per consume (SET NX EX + INCRBY + PTTL), so N parallel consumes of a key across
 * every instance allow exactly `points`, and every counter key carries its window as TTL.
 *
 * Each limiter has an insurance limiter in memory with the same rule: while Redis is away (not
 * ready: at once; hung: after the client's command timeout), counting goes on per instance —
 * DESIGN §4's "per-instance memory while Redis is away" — and returns to Redis when it is back.
 * All rules share one key space (a key is meant to be used with one rule), so `reset` of a key
 * clears it in Redis whatever rule another instance used.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly limiters = new Map<string, RateLimiterRedis>();
  private readonly insurance = new Map<string, RateLimiterMemory>();
  private readonly client: Redis;
  private readonly prefix: string;

  constructor(options: RedisRateLimitStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? 'gatehouse:rl';
  }

  /** Whether counters are shared right now (Redis ready), for /readyz. */
  shared(): boolean {
    return this.client.status === 'ready';
  }

  private limiter(rule: RateLimitRule): RateLimiterRedis {
    checkRule(rule);
    const id = `${rule.points}/${rule.durationSec}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const insurance = new RateLimiterMemory({ points: rule.points, duration: rule.durationSec });
      limiter = new RateLimiterRedis({
        storeClient: this.client,
        useRedisPackage: false,
        rejectIfRedisNotReady: true,
        keyPrefix: this.prefix,
        points: rule.points,
        duration: rule.durationSec,
        insuranceLimiter: insurance,
      });
      this.limiters.set(id, limiter);
      this.insurance.set(id, insurance);
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
    // The Redis key is shared by every rule; the insurance counters are per rule.
    const first = this.limiters.values().next();
    if (first.done) {
      if (this.client.status === 'ready') await this.client.del(`${this.prefix}:${key}`).catch(() => undefined);
    } else {
      await first.value.delete(key).catch(() => undefined);
    }
    for (const m of this.insurance.values()) await m.delete(key);
  }

  async peek(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const res = await this.limiter(rule).get(key);
    if (res === null || res.msBeforeNext <= 0) return { allowed: true, remaining: rule.points, retryAfterMs: 0, consumed: 0 };
    const allowed = res.consumedPoints < rule.points;
    return resultOf(res, rule, allowed);
  }
}
