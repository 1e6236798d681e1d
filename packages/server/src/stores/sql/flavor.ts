import type { ColumnDefinitionBuilder, Kysely } from 'kysely';
import type { GatehouseDb } from './schema.js';
import { GatehouseError, StoreUnavailableError } from '../../errors/index.js';
import { UsernameTakenError } from '../types.js';

/**
 * How a backend error should be treated by the stores. `invalid_text`: a string the database
 * cannot hold (PostgreSQL refuses U+0000 in text), so the request is wrong, not the database.
 */
export type ErrorKind = 'unique_violation' | 'unavailable' | 'invalid_text' | 'other';

/**
 * The dialect-specific bits of the SQL stores, kept in one place per backend
 * (`sqlite/sqlite-flavor.ts`; PostgreSQL adds its own). Everything else is portable kysely.
 */
export interface SqlFlavor {
  readonly name: string;
  /** Column type and modifiers of an auto-incrementing integer primary key. */
  readonly autoIncrementPk: { type: 'integer' | 'bigint'; build(col: ColumnDefinitionBuilder): ColumnDefinitionBuilder };
  /** Classifies a driver error. `constraint` is the index or column text when known. */
  classify(err: unknown): { kind: ErrorKind; constraint?: string };
  /**
   * Runs `fn` in a transaction that holds the write lock from its first statement, so a
   * read-then-write inside it cannot interleave with another process's write.
   */
  writeTransaction<T>(db: Kysely<GatehouseDb>, fn: (trx: Kysely<GatehouseDb>) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` in a write transaction whose statements make their read-then-writes race-safe
   * themselves: a conditional UPDATE as the compare-and-swap, the row locks that UPDATEs take,
   * rows locked in one order (a session before its refresh tokens, the order in which deleting a
   * session cascades). SQLite: BEGIN IMMEDIATE, as writeTransaction. PostgreSQL: READ COMMITTED,
   * which takes no predicate locks, so transactions on unrelated rows never fail each other;
   * deadlocks are retried. Throwing from `fn` rolls the transaction back.
   */
  rowLockTransaction<T>(db: Kysely<GatehouseDb>, fn: (trx: Kysely<GatehouseDb>) => Promise<T>): Promise<T>;
  /**
   * Inside a rowLockTransaction: locks the user's row until the transaction ends, so the
   * transactions that change one user's rows (a sign-in replacing a device's session) run one
   * after the other while other users' run beside them. PostgreSQL: `SELECT … FOR UPDATE`.
   * SQLite: nothing to do (BEGIN IMMEDIATE already serializes every writer).
   */
  lockUser(trx: Kysely<GatehouseDb>, userId: string): Promise<void>;
}

/**
 * Runs one store operation, mapping backend outages to StoreUnavailableError, a string the
 * database cannot hold (a NUL character from a query, path or body reaching PostgreSQL) to 400
 * `invalid_request` (not a 500: the caller sent it), and leaving UsernameTakenError (and
 * programming errors) as they are.
 */
export async function guard<T>(flavor: SqlFlavor, store: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof UsernameTakenError || err instanceof StoreUnavailableError) throw err;
    const kind = flavor.classify(err).kind;
    if (kind === 'unavailable') throw new StoreUnavailableError(store, err);
    if (kind === 'invalid_text') {
      throw new GatehouseError('invalid_request', { detail: 'The request holds a NUL character (U+0000), which no name, id or filter may contain; remove it and try again.', cause: err });
    }
    throw err;
  }
}
