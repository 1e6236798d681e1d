import type { Options } from '@node-rs/argon2';
import { createHashWorkerPool, HashThreadError } from './hash-workers.js';

/**
 * argon2id with the OWASP minimum parameters (m=19456 KiB, t=2, p=1). `algorithm: 2` is
 * Argon2id (the package's `Algorithm` is an ambient const enum, unusable with isolated modules).
 */
export const ARGON2ID_OPTIONS: Options = {
  algorithm: 2 as Options['algorithm'],
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
  outputLen: 32,
};

/** The argon2 primitives, injectable so tests can observe concurrency. */
export interface Argon2Impl {
  hash(password: string, options: Options): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

export interface PasswordHasher {
  /** PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). */
  hash(password: string): Promise<string>;
  /** false for a wrong password and for a malformed hash (never throws for those); rejects when the hashing threads fail. */
  verify(passwordHash: string, password: string): Promise<boolean>;
  /** Hashes running now and hashes waiting for a slot. */
  stats(): { running: number; queued: number };
  /** Stops the hashing threads (they start again if the hasher is used later). */
  close(): Promise<void>;
}

export interface PasswordHasherOptions {
  /** Most argon2 computations at once; the rest wait in FIFO order. */
  maxConcurrent: number;
  /** Nice value (0..19) of the hashing threads; default 10. See hash-workers.ts. */
  nice?: number;
  impl?: Argon2Impl & { close?(): Promise<void> };
}

/**
 * argon2id hasher. Computes on threads of its own at a lower priority (hash-workers.ts), so
 * the event loop never blocks and wins the CPU over a burst of sign-ins; the cap keeps such a
 * burst from taking every core and from allocating 19 MiB per hash without bound.
 */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const max = Math.max(1, Math.floor(options.maxConcurrent));
  const impl = options.impl ?? createHashWorkerPool({ size: max, nice: options.nice ?? 10 });
  let running = 0;
  const waiting: Array<() => void> = [];

  async function withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (running >= max) {
      await new Promise<void>((resolve) => waiting.push(resolve));
    } else {
      running++;
    }
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter (FIFO), or free it.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }

  return {
    hash: (password) => withSlot(() => impl.hash(password, ARGON2ID_OPTIONS)),
    verify: (passwordHash, password) =>
      withSlot(async () => {
        try {
          return await impl.verify(passwordHash, password);
        } catch (err) {
          // A malformed hash is a wrong password; a hashing thread that died is not (500).
          if (err instanceof HashThreadError) throw err;
          return false;
        }
      }),
    stats: () => ({ running, queued: waiting.length }),
    close: async () => {
      await impl.close?.();
    },
  };
}
