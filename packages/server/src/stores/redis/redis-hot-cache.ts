import type { Redis } from 'ioredis';
import type { HotCache, HotCacheStats, HotCacheStatus } from '../types.js';
import { describeRedis } from './redis-revocation-feed.js';

/** The embedded default: no shared hot copy (the gateway's memory LRU is the only one). */
export class NoHotCache implements HotCache {
  readonly kind = 'none' as const;
  get(): Promise<unknown> {
    return Promise.resolve(undefined);
  }
  set(): void {}
  delete(): void {}
  status(): HotCacheStatus {
    return 'none';
  }
  stats(): HotCacheStats {
    return { hits: 0, misses: 0, errors: 0 };
  }
  describe(): string {
    return 'none';
  }
}

export interface RedisHotCacheOptions {
  /** A request-path client (`createRequestPathRedis`: no offline queue, short command timeout). Not closed here. */
  client: Redis;
  /** The URL the client uses, only to describe it (never logged). */
  url: string;
  /** Key prefix; default `gatehouse:hot:`. */
  prefix?: string;
  /** Longest TTL accepted (ms); longer ones are cut to it. Default 1 h. */
  maxTtlMs?: number;
}

/**
 * HotCache on Redis: GET / SET PX / DEL of JSON strings. While the client is not ready, calls
 * return at once (miss / no-op) without touching the network; a slow Redis costs at most the
 * client's command timeout.
 */
export class RedisHotCache implements HotCache {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private readonly prefix: string;
  private readonly maxTtlMs: number;
  private readonly label: string;
  private hits = 0;
  private misses = 0;
  private errors = 0;

  constructor(options: RedisHotCacheOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? 'gatehouse:hot:';
    this.maxTtlMs = options.maxTtlMs ?? 3600_000;
    this.label = describeRedis(options.url);
  }

  async get(key: string): Promise<unknown> {
    if (this.client.status !== 'ready') {
      this.errors++;
      return undefined;
    }
    let raw: string | null;
    try {
      raw = await this.client.get(this.prefix + key);
    } catch {
      this.errors++;
      return undefined;
    }
    if (raw === null) {
      this.misses++;
      return undefined;
    }
    try {
      const value: unknown = JSON.parse(raw);
      this.hits++;
      return value;
    } catch {
      this.errors++;
      return undefined;
    }
  }

  set(key: string, value: unknown, ttlMs: number): void {
    const ttl = Math.min(Math.floor(ttlMs), this.maxTtlMs);
    if (!(ttl >= 1) || this.client.status !== 'ready') return;
    let json: string;
    try {
      json = JSON.stringify(value);
    } catch {
      this.errors++;
      return;
    }
    this.client.set(this.prefix + key, json, 'PX', ttl).catch(this.onError);
  }

  delete(key: string): void {
    if (this.client.status !== 'ready') return;
    this.client.del(this.prefix + key).catch(this.onError);
  }

  status(): HotCacheStatus {
    return this.client.status === 'ready' ? 'redis' : 'down';
  }

  stats(): HotCacheStats {
    return { hits: this.hits, misses: this.misses, errors: this.errors };
  }

  describe(): string {
    return this.label;
  }

  private readonly onError = (): void => {
    this.errors++;
  };
}
