import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../crypto/secrets.js';
import { StoreUnavailableError } from '../../errors/index.js';
import { createRequestPathRedis } from './redis-client.js';
import { RedisPendingRevocations } from './redis-pending-revocations.js';
import { PrivateRedis } from './redis-server.test-helpers.js';

/*
 * The pending-revocation store is a sign-out's last way to be recorded while PostgreSQL is away.
 * Its client is the request path's (100 ms command timeout): one reply late past it must not
 * refuse the sign-out, a Redis that stays away must. A real redis-server, stopped (SIGSTOP) for
 * a while, is the late reply.
 */
const redis = new PrivateRedis();
let client: ReturnType<typeof createRequestPathRedis>;

beforeAll(async () => {
  await redis.start();
  client = createRequestPathRedis({ url: redis.url, commandTimeoutMs: 100 });
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r));
});

afterAll(async () => {
  client.disconnect();
  await redis.kill();
});

const event = (sid: string) => ({ type: 'session' as const, sid, userId: 'u1', at: Date.now() });

describe('RedisPendingRevocations.add', () => {
  it('a reply late past one command timeout: tried once more, recorded once', async () => {
    const store = new RedisPendingRevocations({ client, key: `test:pending:${randomId()}` });
    redis.pause();
    // Resumed after the first attempt timed out (100 ms) and while the second one waits.
    const resume = setTimeout(() => redis.resume(), 150);
    try {
      await store.add(event('late'));
    } finally {
      clearTimeout(resume);
      redis.resume();
    }
    expect((await store.list()).map((e) => (e.type === 'session' ? e.sid : ''))).toEqual(['late']);
  });

  it('a Redis that stays away: StoreUnavailableError after the second attempt', async () => {
    const store = new RedisPendingRevocations({ client, key: `test:pending:${randomId()}` });
    redis.pause();
    const started = performance.now();
    try {
      await expect(store.add(event('away'))).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      redis.resume();
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });
});
