import type { Options } from '@node-rs/argon2';
import { createHashWorkerPool, HashThreadError, type Argon2Impl } from './hash-workers.js';

export type { Argon2Impl };

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

/**
 * The two lanes of the queue. `known_device`: a sign-in that presents a valid device cookie for
 * the account it names (it signed in there before); served before `normal` and bounded by its
 * own wait, so a flood of unknown sign-ins cannot starve it. Everything else is `normal`.
 */
export type HashLane = 'known_device' | 'normal';

/** Who asks for a hash: what admission counts it against. */
export interface HashClaim {
  lane: HashLane;
  /** The client's address bucket (per-IP cap, normal lane only); null or absent: not counted. */
  ip?: string | null;
  /** The canonical username (per-username cap, per lane); null or absent: not counted. */
  username?: string | null;
}

/** Admission limits of the queue (config `password.maxHashWaitMs` etc.); 0 turns a cap off. */
export interface HashAdmissionLimits {
  /** Refuse a hash whose expected wait in its lane is longer than this (ms). */
  maxWaitMs: number;
  /** Most hashes (waiting or running) one client address may hold at once in the normal lane. */
  maxPerIp: number;
  /** Most hashes (waiting or running) one username may hold at once in one lane. */
  maxPerUsername: number;
}

/** A hash refused at admission: the queue is too long for its lane, or its address or username holds its share. */
export class HashQueueFullError extends Error {
  constructor(
    readonly reason: 'wait' | 'ip' | 'username',
    /** When a retry is likely to be admitted (ms): the lane's expected wait, at least one hash time. */
    readonly retryAfterMs: number,
  ) {
    super(`the password hashing queue is full (${reason})`);
    this.name = 'HashQueueFullError';
  }
}

/**
 * A place in the queue, taken by `admit()` before the caller's other work (store calls) so a
 * burst is counted at once. Used by one `hash` or `verify` (which give it back when done), or
 * given back unused with `release()` (idempotent; harmless after use).
 */
export interface HashTicket {
  release(): void;
}

export interface PasswordHasher {
  /** PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`). With a ticket, runs in its lane; without, unconditionally (CLI, the dummy hash). */
  hash(password: string, ticket?: HashTicket): Promise<string>;
  /** false for a wrong password and for a malformed hash (never throws for those); rejects when the hashing threads fail. */
  verify(passwordHash: string, password: string, ticket?: HashTicket): Promise<boolean>;
  /**
   * Takes a place in the queue for one later `hash`/`verify`, or throws `HashQueueFullError` at
   * once (no waiting) when the lane's expected wait exceeds `maxWaitMs` or the claim's address or
   * username already holds its cap.
   */
  admit(claim: HashClaim): HashTicket;
  /**
   * Throws what `admit` would throw now for the wait bound and the address's share, without
   * taking a place (a cheap early answer). The username's share is left to `admit`: sign-in
   * reserves its per-account attempt in between, so guesses beyond the account lock get 429.
   */
  check(claim: HashClaim): void;
  /** Hashes running now and hashes waiting for a slot. */
  stats(): { running: number; queued: number };
  /** The moving average of one hash's time (ms), and the expected wait (ms) of a new hash in each lane. */
  load(): { hashMs: number; waitMs: Record<HashLane, number>; admitted: number };
  /** Stops the hashing threads (they start again if the hasher is used later). */
  close(): Promise<void>;
}

export interface PasswordHasherOptions {
  /** Most argon2 computations at once; the rest wait (known-device lane first, FIFO within a lane). */
  maxConcurrent: number;
  /** Nice value (0..19) of the hashing threads; default 10. See hash-workers.ts. */
  nice?: number;
  /** Admission limits; absent: every ticket is admitted. */
  admission?: HashAdmissionLimits;
  impl?: Argon2Impl & { close?(): Promise<void> };
  /** Told how long each hash waited for a thread (seconds; 0 when one was free), for metrics. */
  onWait?: (lane: HashLane, seconds: number) => void;
}

/** The hash time assumed before the first one is measured (ms): OWASP's parameters take tens of ms. */
const INITIAL_HASH_MS = 100;
/** Weight of the newest sample in the moving average of the hash time. */
const EWMA_WEIGHT = 0.2;

interface Place extends HashTicket {
  readonly lane: HashLane;
  readonly ipKey: string | null;
  readonly userKey: string | null;
  state: 'admitted' | 'waiting' | 'running' | 'done';
  start?: () => void;
}

/**
 * argon2id hasher. Computes on threads of its own at a lower priority (hash-workers.ts), so
 * the event loop never blocks and wins the CPU over a burst of sign-ins; the cap keeps such a
 * burst from taking every core and from allocating 19 MiB per hash without bound.
 *
 * Admission (issue 11 item 4): the queue in front of the threads is bounded by expected wait,
 * not left to grow. A new hash's expected wait in its lane = (hashes ahead of it − free threads)
 * × the moving average of recent hash times ÷ threads, where "ahead" is every admitted
 * known-device hash for that lane, plus every admitted normal hash for the normal lane. Past
 * `maxWaitMs` it is refused at once (the caller answers 503 with Retry-After) instead of
 * queuing; one address or one username can hold only its cap of places.
 */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const max = Math.max(1, Math.floor(options.maxConcurrent));
  const impl = options.impl ?? createHashWorkerPool({ size: max, nice: options.nice ?? 10 });
  const limits = options.admission;
  let running = 0;
  let hashMs = INITIAL_HASH_MS;
  let measured = false;
  /** Admitted but not running (reserved or waiting), per lane. */
  const ahead: Record<HashLane, number> = { known_device: 0, normal: 0 };
  const waiting: Record<HashLane, Place[]> = { known_device: [], normal: [] };
  const perIp = new Map<string, number>();
  const perUser = new Map<string, number>();

  function add(map: Map<string, number>, key: string | null, n: number): void {
    if (key === null) return;
    const v = (map.get(key) ?? 0) + n;
    if (v <= 0) map.delete(key);
    else map.set(key, v);
  }

  function waitMs(lane: HashLane): number {
    const before = running + ahead.known_device + (lane === 'normal' ? ahead.normal : 0);
    return (Math.max(0, before - max + 1) * hashMs) / max;
  }

  function refusal(claim: HashClaim, shareOfUsername: boolean): HashQueueFullError | null {
    if (!limits) return null;
    const wait = waitMs(claim.lane);
    const retryAfterMs = Math.max(wait, hashMs);
    // A client over its own share is told so first (it is the one to slow down).
    if (claim.lane === 'normal' && claim.ip && limits.maxPerIp > 0 && (perIp.get(claim.ip) ?? 0) >= limits.maxPerIp) {
      return new HashQueueFullError('ip', retryAfterMs);
    }
    if (shareOfUsername && claim.username && limits.maxPerUsername > 0 && (perUser.get(`${claim.lane}\0${claim.username}`) ?? 0) >= limits.maxPerUsername) {
      return new HashQueueFullError('username', retryAfterMs);
    }
    if (wait > limits.maxWaitMs) return new HashQueueFullError('wait', retryAfterMs);
    return null;
  }

  /** Gives a place back (done or unused) and hands a freed thread to the next waiter. */
  function finish(p: Place): void {
    if (p.state === 'done') return;
    const was = p.state;
    p.state = 'done';
    add(perIp, p.ipKey, -1);
    add(perUser, p.userKey, -1);
    if (was === 'running') {
      running--;
      const next = waiting.known_device.shift() ?? waiting.normal.shift();
      if (next) {
        ahead[next.lane]--;
        next.state = 'running';
        running++;
        next.start!();
      }
    } else {
      ahead[p.lane]--;
      if (was === 'waiting') {
        const q = waiting[p.lane];
        q.splice(q.indexOf(p), 1);
      }
    }
  }

  function place(claim: HashClaim): Place {
    const p: Place = {
      lane: claim.lane,
      ipKey: claim.lane === 'normal' && claim.ip ? claim.ip : null,
      userKey: claim.username ? `${claim.lane}\0${claim.username}` : null,
      state: 'admitted',
      release: () => {
        if (p.state === 'admitted') finish(p);
      },
    };
    ahead[p.lane]++;
    add(perIp, p.ipKey, 1);
    add(perUser, p.userKey, 1);
    return p;
  }

  async function withPlace<T>(ticket: HashTicket | undefined, fn: () => Promise<T>): Promise<T> {
    const p = ticket === undefined ? place({ lane: 'normal' }) : (ticket as Place);
    if (p.state !== 'admitted') throw new Error('A hash ticket is used once.');
    const queuedAt = performance.now();
    if (running < max) {
      ahead[p.lane]--;
      p.state = 'running';
      running++;
    } else {
      p.state = 'waiting';
      await new Promise<void>((resolve) => {
        p.start = resolve;
        waiting[p.lane].push(p);
      });
    }
    const t0 = performance.now();
    options.onWait?.(p.lane, (t0 - queuedAt) / 1000);
    try {
      return await fn();
    } finally {
      const took = performance.now() - t0;
      hashMs = measured ? hashMs + EWMA_WEIGHT * (took - hashMs) : took;
      measured = true;
      finish(p);
    }
  }

  return {
    hash: (password, ticket) => withPlace(ticket, () => impl.hash(password, ARGON2ID_OPTIONS)),
    verify: (passwordHash, password, ticket) =>
      withPlace(ticket, async () => {
        try {
          return await impl.verify(passwordHash, password);
        } catch (err) {
          // A malformed hash is a wrong password; a hashing thread that died is not (500).
          if (err instanceof HashThreadError) throw err;
          return false;
        }
      }),
    admit(claim) {
      const r = refusal(claim, true);
      if (r) throw r;
      return place(claim);
    },
    check(claim) {
      const r = refusal(claim, false);
      if (r) throw r;
    },
    stats: () => ({ running, queued: waiting.known_device.length + waiting.normal.length }),
    load: () => ({ hashMs, waitMs: { known_device: waitMs('known_device'), normal: waitMs('normal') }, admitted: running + ahead.known_device + ahead.normal }),
    close: async () => {
      await impl.close?.();
    },
  };
}
