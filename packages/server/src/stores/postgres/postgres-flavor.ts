import type { Kysely } from 'kysely';
import { CircuitOpenError } from '../health/database-health.js';
import type { ErrorKind, SqlFlavor } from '../sql/flavor.js';
import type { GatehouseDb } from '../sql/schema.js';

/**
 * SQLSTATE classes and codes that mean "the database cannot answer now", not "the request is
 * wrong": connection exceptions (08), insufficient resources (53), operator intervention (57:
 * statement timeout / cancel 57014, admin shutdown 57P01, crash shutdown 57P02, cannot connect
 * now 57P03), system errors (58), lock not available (55P03, lock_timeout), and serialization
 * failures or deadlocks left after writeTransaction's retries (40001, 40P01).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58)|^(55P03|40001|40P01)$/;
/** Socket-level error codes of node and pg. */
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** Messages of pg, pg-pool and kysely when the connection is gone, never made, or closed by us. */
const UNAVAILABLE_MESSAGES =
  /connection terminated|timeout exceeded when trying to connect|connection timeout|query read timeout|client has encountered a connection error|client was closed|cannot use a pool after calling end|driver has already been destroyed|database connection is not open|the server does not support ssl/i;

/** A string PostgreSQL cannot hold in text: U+0000 (character_not_in_repertoire, untranslatable_character). */
const INVALID_TEXT_SQLSTATE = new Set(['22021', '22P05']);

/** Serialization failure and deadlock: the transaction did nothing and may simply run again. */
const RETRYABLE_SQLSTATE = new Set(['40001', '40P01']);
/** Attempts of one writeTransaction before the failure is reported (as unavailable). */
const WRITE_TX_ATTEMPTS = 12;

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function classifyOne(err: unknown): { kind: ErrorKind; constraint?: string } {
  if (!(err instanceof Error)) return { kind: 'other' };
  if (err instanceof CircuitOpenError) return { kind: 'unavailable' };
  const code = codeOf(err);
  if (code !== undefined && INVALID_TEXT_SQLSTATE.has(code)) return { kind: 'invalid_text' };
  if (code === '23505') {
    const constraint = (err as Error & { constraint?: unknown }).constraint;
    return typeof constraint === 'string' ? { kind: 'unique_violation', constraint } : { kind: 'unique_violation' };
  }
  if (code !== undefined && (UNAVAILABLE_NODE_CODES.has(code) || (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_SQLSTATE.test(code)))) {
    return { kind: 'unavailable' };
  }
  if (UNAVAILABLE_MESSAGES.test(err.message)) return { kind: 'unavailable' };
  return { kind: 'other' };
}

/**
 * Unavailable codes that concern one statement or one transaction, not the server: lock and
 * statement timeouts, serialization failures, deadlocks, a full disk (reads still work). They
 * do not open the circuit breaker.
 */
const STATEMENT_LEVEL_SQLSTATE = new Set(['55P03', '57014', '40001', '40P01', '53100']);

/**
 * Whether `err` means PostgreSQL itself is away (refused or lost connection, connection or read
 * timeout, shutting down, out of connections): what opens the circuit breaker.
 */
export function isPostgresOutage(err: unknown): boolean {
  if (err instanceof CircuitOpenError) return false;
  if (postgresFlavor.classify(err).kind !== 'unavailable') return false;
  const code = codeOf(err) ?? codeOf((err as { cause?: unknown } | null)?.cause);
  return code === undefined || !STATEMENT_LEVEL_SQLSTATE.has(code);
}

/** Whether a failed writeTransaction may run again (nothing of it was committed). */
export function isRetryableTransactionError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && RETRYABLE_SQLSTATE.has(code);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `fn` in a transaction at `isolation`, run again after a serialization failure or deadlock. */
async function retriedTransaction<T>(db: Kysely<GatehouseDb>, isolation: 'serializable' | 'read committed', fn: (trx: Kysely<GatehouseDb>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().setIsolationLevel(isolation).execute(fn);
    } catch (err) {
      if (attempt >= WRITE_TX_ATTEMPTS || !isRetryableTransactionError(err)) throw err;
      // Jittered, growing pause so the racers do not collide again in lockstep.
      await sleep(Math.random() * 5 * Math.min(attempt, 6));
    }
  }
}

/**
 * PostgreSQL-specific bits of the SQL stores.
 *
 * writeTransaction runs at SERIALIZABLE isolation and retries serialization failures and
 * deadlocks. That is PostgreSQL's counterpart of SQLite's BEGIN IMMEDIATE for every
 * read-then-write the stores do, without the flavor having to know which rows or tables they
 * touch: two sign-ins racing on one device (delete-then-insert on sessions), the first signing
 * key on an empty store (`insertIfNoSigner`: select-then-insert), a refresh token created
 * while its session ends. (Refresh-token rotation, the hottest write, uses rowLockTransaction
 * instead: its compare-and-swap needs no predicate locks.) Of conflicting
 * transactions PostgreSQL lets one commit and aborts the others with 40001; a rerun then sees
 * the winner's rows, exactly as the loser of SQLite's write lock would. Unlike `LOCK TABLE`,
 * non-conflicting transactions (other users, other devices) do not wait for each other, and
 * plain writes such as session touches are never blocked.
 */
export const postgresFlavor: SqlFlavor = {
  name: 'postgres',
  autoIncrementPk: { type: 'bigint', build: (c) => c.primaryKey().generatedByDefaultAsIdentity() },
  classify(err: unknown): { kind: ErrorKind; constraint?: string } {
    const own = classifyOne(err);
    if (own.kind !== 'other') return own;
    // Node wraps dual-stack connection failures in an AggregateError; kysely or pg may chain a cause.
    const inner = [...(err instanceof AggregateError ? err.errors : []), err instanceof Error ? err.cause : undefined].filter((e) => e !== undefined);
    for (const e of inner) {
      const c = classifyOne(e);
      if (c.kind === 'unavailable') return c;
    }
    return own;
  },
  writeTransaction<T>(db: Kysely<GatehouseDb>, fn: (trx: Kysely<GatehouseDb>) => Promise<T>): Promise<T> {
    return retriedTransaction(db, 'serializable', fn);
  },
  /**
   * READ COMMITTED: each statement sees what committed before it, an UPDATE waits for the row
   * lock of a concurrent one and then re-checks its WHERE on the row as committed, so a
   * conditional UPDATE is a compare-and-swap that exactly one of several racers wins. It takes
   * no predicate locks: SERIALIZABLE's cover a whole B-tree leaf page (every row of a small
   * table) or, under a sequential scan, the whole table, so rotations of different devices'
   * refresh tokens failed each other with 40001 (issue 19: 503s after 12 attempts, 16 devices).
   */
  rowLockTransaction<T>(db: Kysely<GatehouseDb>, fn: (trx: Kysely<GatehouseDb>) => Promise<T>): Promise<T> {
    return retriedTransaction(db, 'read committed', fn);
  },
  async lockUser(trx: Kysely<GatehouseDb>, userId: string): Promise<void> {
    await trx.selectFrom('users').select('id').where('id', '=', userId).forUpdate().execute();
  },
};
