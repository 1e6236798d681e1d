import { describe, expect, it } from 'vitest';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { HashThreadError } from './hash-workers.js';
import { ARGON2ID_OPTIONS, createPasswordHasher, type Argon2Impl } from './password-hasher.js';

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
