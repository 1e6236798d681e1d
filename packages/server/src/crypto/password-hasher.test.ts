import { describe, expect, it } from 'vitest';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { HashThreadError } from './hash-workers.js';
import { ARGON2ID_OPTIONS, createPasswordHasher, HashQueueFullError, type Argon2Impl } from './password-hasher.js';

describe('password hasher', () => {
  it('hashes with argon2id and the OWASP parameters, and verifies', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 2 });
    const h = await hasher.hash('vivid-otter-sings-42');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(h, 'vivid-otter-sings-42')).toBe(true);
    expect(await hasher.verify(h, 'vivid-otter-sings-43')).toBe(false);
  });

  it('salts: the same password hashes differently', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 2 });
    expect(await hasher.hash('same password here')).not.toBe(await hasher.hash('same password here'));
  });

  it('never truncates: a 1025th character changes the result', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 2 });
    const base = 'a'.repeat(1024);
    const h = await hasher.hash(base + 'x');
    expect(await hasher.verify(h, base + 'x')).toBe(true);
    expect(await hasher.verify(h, base + 'y')).toBe(false);
    expect(await hasher.verify(h, base)).toBe(false);
  });

  it('answers false for a malformed hash instead of throwing', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1 });
    expect(await hasher.verify('not-a-phc-string', 'whatever')).toBe(false);
  });

  it('caps concurrency and serves the queue in FIFO order', async () => {
    let active = 0;
    let peak = 0;
    const started: string[] = [];
    const impl: Argon2Impl = {
      async hash(password, options) {
        started.push(password);
        active++;
        peak = Math.max(peak, active);
        try {
          return await argon2Hash(password, options);
        } finally {
          active--;
        }
      },
      verify: (h, p) => argon2Verify(h, p),
    };
    const hasher = createPasswordHasher({ maxConcurrent: 2, impl });
    const names = Array.from({ length: 7 }, (_, i) => `password-number-${i}`);
    const all = Promise.all(names.map((n) => hasher.hash(n)));
    expect(hasher.stats()).toEqual({ running: 2, queued: 5 });
    const hashes = await all;
    expect(peak).toBe(2);
    expect(started).toEqual(names);
    expect(hasher.stats()).toEqual({ running: 0, queued: 0 });
    expect(hashes.every((h) => h.startsWith('$argon2id$'))).toBe(true);
  });

  it('frees the slot when a computation fails', async () => {
    const impl: Argon2Impl = {
      hash: () => Promise.reject(new Error('boom')),
      verify: () => Promise.resolve(true),
    };
    const hasher = createPasswordHasher({ maxConcurrent: 1, impl });
    await expect(hasher.hash('x')).rejects.toThrow('boom');
    await expect(hasher.hash('y')).rejects.toThrow('boom');
    expect(hasher.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('does not block the event loop while hashing', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 2 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    await Promise.all([hasher.hash('one password'), hasher.hash('two password'), hasher.hash('three password')]);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A blocked loop would fire (almost) no interval during the hashes.
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
    expect(ticks).toBeGreaterThan(2);
  });

  it('a failed hashing thread is an error, never "wrong password" (which would count toward the lock)', async () => {
    const broken: Argon2Impl = {
      hash: () => Promise.reject(new HashThreadError('the hashing thread exited (code 1)')),
      verify: () => Promise.reject(new HashThreadError('the hashing thread exited (code 1)')),
    };
    const hasher = createPasswordHasher({ maxConcurrent: 1, impl: broken });
    await expect(hasher.verify('$argon2id$whatever', 'pw')).rejects.toBeInstanceOf(HashThreadError);
    expect(hasher.stats()).toEqual({ running: 0, queued: 0 });
  });

  it('closing the hasher fails a verify in flight with an error, and the hasher works again afterwards', async () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1 });
    const phc = await hasher.hash('in flight password');
    const inFlight = hasher.verify(phc, 'in flight password');
    await hasher.close();
    await expect(inFlight).rejects.toBeInstanceOf(HashThreadError);
    expect(await hasher.verify(phc, 'in flight password')).toBe(true);
    await hasher.close();
  });

  it('uses m=19456 KiB, t=2, p=1', () => {
    expect(ARGON2ID_OPTIONS).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 });
  });
});

describe('password hasher admission (bounded queue, known-device lane, per-address and per-username shares)', () => {
  /** A real hasher on one thread whose moving average holds one measured hash. */
  async function measured(limits: { maxWaitMs: number; maxPerIp?: number; maxPerUsername?: number }) {
    const hasher = createPasswordHasher({ maxConcurrent: 1, admission: { maxPerIp: 0, maxPerUsername: 0, ...limits } });
    await hasher.hash('warm-up password');
    const { hashMs } = hasher.load();
    expect(hashMs).toBeGreaterThan(0);
    return { hasher, hashMs };
  }
  function refusal(fn: () => unknown): HashQueueFullError {
    try {
      fn();
    } catch (err) {
      if (err instanceof HashQueueFullError) return err;
      throw err;
    }
    throw new Error('admitted');
  }

  it('admits while the expected wait (hashes ahead x average hash time / threads) is within the bound, then refuses at once', async () => {
    const { hasher, hashMs } = await measured({ maxWaitMs: 1000 });
    // On one thread the k-th admitted hash waits for the k before it.
    const fits = Math.floor(1000 / hashMs) + 1;
    const tickets = [];
    for (let i = 0; i < fits; i++) tickets.push(hasher.admit({ lane: 'normal', ip: `198.18.0.${i}` }));
    expect(hasher.load().waitMs.normal).toBeCloseTo(fits * hashMs, 6);
    const r = refusal(() => hasher.admit({ lane: 'normal', ip: '198.18.1.1' }));
    expect(r.reason).toBe('wait');
    expect(r.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(() => hasher.check({ lane: 'normal' })).toThrow(HashQueueFullError);
    // Giving places back unused reopens the queue.
    for (const t of tickets) t.release();
    expect(hasher.load().admitted).toBe(0);
    expect(() => hasher.check({ lane: 'normal' })).not.toThrow();
    await hasher.close();
  });

  it('the known-device lane is admitted while the normal lane is full, and runs before every waiting normal hash', async () => {
    const { hasher } = await measured({ maxWaitMs: 300 });
    const normal = [];
    for (;;) {
      try {
        normal.push(hasher.admit({ lane: 'normal' }));
      } catch {
        break;
      }
    }
    expect(normal.length).toBeGreaterThanOrEqual(1);
    expect(hasher.load().waitMs.known_device).toBe(0);
    const known = hasher.admit({ lane: 'known_device', username: 'alice' });
    const done: string[] = [];
    const all = normal.map((t, i) => hasher.hash(`normal-${i}`, t).then(() => done.push(`normal-${i}`)));
    all.push(hasher.hash('known', known).then(() => done.push('known')));
    await Promise.all(all);
    // The first normal hash was already running; the known-device one went next.
    expect(done.slice(0, 2)).toEqual(['normal-0', 'known']);
    await hasher.close();
  });

  it('one address or one username holds at most its share; the known-device lane has no address share; release gives a place back', async () => {
    const { hasher } = await measured({ maxWaitMs: 60_000, maxPerIp: 3, maxPerUsername: 2 });
    const a = [0, 1, 2].map(() => hasher.admit({ lane: 'normal', ip: '203.0.113.7' }));
    expect(refusal(() => hasher.admit({ lane: 'normal', ip: '203.0.113.7' })).reason).toBe('ip');
    expect(() => hasher.admit({ lane: 'normal', ip: '203.0.113.8' }).release()).not.toThrow();
    hasher.admit({ lane: 'known_device', ip: '203.0.113.7' }).release();
    a[0]!.release();
    a[0]!.release(); // idempotent
    hasher.admit({ lane: 'normal', ip: '203.0.113.7' }).release();

    const u = [0, 1].map(() => hasher.admit({ lane: 'normal', username: 'bob' }));
    expect(refusal(() => hasher.admit({ lane: 'normal', username: 'bob' })).reason).toBe('username');
    // Per lane: a flood of guesses at bob's name does not shut bob's own browser out.
    const k = hasher.admit({ lane: 'known_device', username: 'bob' });
    expect(await hasher.hash('bob known device', k)).toMatch(/^\$argon2id\$/);
    // Used places are given back when their hash is done.
    await Promise.all(u.map((t, i) => hasher.hash(`bob-${i}`, t)));
    hasher.admit({ lane: 'normal', username: 'bob' }).release();
    for (const t of a.slice(1)) t.release();
    expect(hasher.load().admitted).toBe(0);
    await expect(hasher.hash('again', k)).rejects.toThrow(/used once/);
    await hasher.close();
  });

  it('without admission limits every claim is admitted (CLI, tests)', () => {
    const hasher = createPasswordHasher({ maxConcurrent: 1, impl: { hash: async () => 'x', verify: async () => true } });
    const tickets = Array.from({ length: 100 }, () => hasher.admit({ lane: 'normal', ip: '198.51.100.1', username: 'x' }));
    expect(hasher.load().admitted).toBe(100);
    for (const t of tickets) t.release();
  });
});
