import { Redis } from 'ioredis';

/** Bounds of the shared Redis connection used on request paths (hot copy, rate-limit counters). */
export interface RedisClientOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`; never logged. */
  url: string;
  /** Bound of every command; default 100 ms (a slow Redis must never slow a request much). */
  commandTimeoutMs?: number;
  /** Bound of a connection attempt; default 1000 ms. */
  connectTimeoutMs?: number;
  /** Cap of the exponential reconnect backoff; default 1000 ms. */
  maxReconnectDelayMs?: number;
  /** Told of connection errors (rate-limited by the caller); never throws. */
  onError?: (err: Error) => void;
  connectionName?: string;
}

/**
 * An ioredis client for request paths: no offline queue (a command while Redis is away fails at
 * once instead of waiting), at most one retry, a short command timeout, reconnects with capped
 * exponential backoff forever. Callers treat every failure as "Redis is away" and go on without it.
 */
export function createRequestPathRedis(options: RedisClientOptions): Redis {
  const maxDelay = options.maxReconnectDelayMs ?? 1000;
  const client = new Redis(options.url, {
    connectTimeout: options.connectTimeoutMs ?? 1000,
    commandTimeout: options.commandTimeoutMs ?? 100,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(maxDelay, 50 * 2 ** Math.min(times - 1, 10)) + Math.floor(Math.random() * 50),
    reconnectOnError: () => false,
    keepAlive: 10_000,
    connectionName: options.connectionName ?? 'gatehouse',
    lazyConnect: true,
  });
  client.on('error', (err: Error) => options.onError?.(err));
  client.connect().catch(() => undefined);
  return client;
}

/** Waits until the client is ready, or `timeoutMs` passed (then it goes on connecting in the background). */
export function whenRedisReady(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    client.on('ready', onReady);
  });
}
