import { isStorageFullError } from '../../errors/index.js';
import type { QueryObserver } from '../sql/observed-dialect.js';
import { Probe, type ProbeOptions } from './probe.js';

/** Thrown instead of calling the database while its circuit breaker is open (classified `unavailable`). */
export class CircuitOpenError extends Error {
  readonly code = 'ECIRCUITOPEN';
  constructor(label: string) {
    super(`${label} is down (circuit breaker open); not tried`);
    this.name = 'CircuitOpenError';
  }
}

export interface DatabaseHealthOptions extends Omit<ProbeOptions, 'check'> {
  /** "PostgreSQL host:port/db" or "SQLite /path": logs and /readyz. */
  label: string;
  /** One cheap query that does not go through the breaker (`select 1`). */
  ping: () => Promise<void>;
  /** Whether an error of a real call means the database is away (connection refused, timeout). */
  isOutage: (err: unknown) => boolean;
  /** Refuse calls at once while the database is down (PostgreSQL); SQLite only reports. */
  breaker: boolean;
  /** A check of the storage (SQLite: write + fsync next to the file); without it only real writes tell. */
  storageCheck?: () => Promise<void>;
}

/**
 * The health of one SQL database, fed by background checks and by every real statement (through
 * `observedDialect`): `database` (answers or not; with `breaker`, the circuit breaker — calls
 * are refused at once with CircuitOpenError while it is down, and a background `ping` every
 * `downIntervalMs` closes it again) and `storage` (whether writes fit: a "disk full" error of a
 * real write takes it down, the next successful write or storage check brings it back).
 */
export class DatabaseHealth implements QueryObserver {
  readonly database: Probe;
  readonly storage: Probe;
  readonly breaker: boolean;
  private readonly isOutage: (err: unknown) => boolean;
  /** Rejected (and replaced) each time the breaker opens: statements in flight stop waiting. */
  private opened = deferredRejection();

  constructor(options: DatabaseHealthOptions) {
    const { label, ping, isOutage, breaker, storageCheck, ...probeOptions } = options;
    this.database = new Probe('database', label, { ...probeOptions, check: ping });
    this.storage = new Probe('storage', `storage of ${label}`, storageCheck === undefined ? {} : { check: storageCheck, intervalMs: 10_000, downIntervalMs: 2_000, timeoutMs: 2_000 });
    this.breaker = breaker;
    this.isOutage = isOutage;
    if (breaker) {
      this.database.onChange((probe) => {
        if (probe.up) return;
        const opened = this.opened;
        this.opened = deferredRejection();
        opened.reject(new CircuitOpenError(probe.label));
      });
    }
  }

  /**
   * With a breaker: rejects when it opens, so a statement already waiting on a hung database
   * (up to the query timeout) gives up then, like every later call, instead of stalling the
   * requests that wait for it. The connection stays in the pool and finishes or fails later.
   */
  interrupt(): Promise<never> | undefined {
    return this.breaker ? this.opened.promise : undefined;
  }

  beforeAcquire(): void {
    if (this.breaker && !this.database.up) throw new CircuitOpenError(this.database.label);
  }

  failed(err: unknown): void {
    if (err instanceof CircuitOpenError) return;
    if (isStorageFullError(err)) this.storage.fail(err);
    else if (this.isOutage(err)) this.database.fail(err);
  }

  succeeded(write: boolean): void {
    if (write) this.storage.ok();
    // Without a breaker a statement that works says the database is back; with one, only the
    // background check closes it (an in-flight answer may predate the outage).
    if (!this.breaker) this.database.ok();
  }

  stop(): void {
    this.database.stop();
    this.storage.stop();
  }
}

function deferredRejection(): { promise: Promise<never>; reject: (err: Error) => void } {
  let reject!: (err: Error) => void;
  const promise = new Promise<never>((_, r) => {
    reject = r;
  });
  // Nobody may be waiting when it opens.
  promise.catch(() => undefined);
  return { promise, reject };
}
