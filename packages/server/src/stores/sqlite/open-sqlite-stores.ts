import { dirname, resolve } from 'node:path';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { DatabaseHealth } from '../health/database-health.js';
import { checkWritable } from '../health/disk-check.js';
import { observedDialect } from '../sql/observed-dialect.js';
import { cachedStatements } from './statement-cache.js';
import type { SqliteHandle } from './database.js';
import type { Clock } from '../../util/clock.js';
import type { GatehouseDb } from '../sql/schema.js';
import { buildSqlStores } from '../sql/sql-stores.js';
import type { Stores } from '../types.js';
import { openSqliteDatabase } from './database.js';
import { migrateSqlite } from './migrations.js';
import { sqliteFlavor } from './sqlite-flavor.js';

export interface SqliteStoresOptions {
  /** Path of the database file (created with its directory when missing), or ':memory:'. */
  file: string;
  clock: Clock;
}

/** Result codes of a database file that cannot be used at all (not contention, not a full disk). */
const SQLITE_OUTAGE = /^SQLITE_(IOERR|CANTOPEN|CORRUPT|NOTADB)/;
const isSqliteOutage = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLITE_OUTAGE.test(code);
};

interface Shared {
  db: Kysely<GatehouseDb>;
  health: DatabaseHealth;
  /** The connection itself, for the refresh store's synchronous path (refresh-tokens/sql-refresh-token-store.ts). */
  handle: SqliteHandle;
  refs: number;
  ready: Promise<void>;
}

/**
 * One connection per file per process. Two better-sqlite3 handles on one file in one process
 * would block each other's thread (busy_timeout) while one holds a transaction across awaits;
 * sharing the handle lets kysely's connection mutex serialise them instead.
 */
const openFiles = new Map<string, Shared>();

async function acquire(file: string): Promise<Shared> {
  let shared = file === ':memory:' ? undefined : openFiles.get(file);
  if (shared) {
    shared.refs++;
  } else {
    const handle = openSqliteDatabase(file);
    // Reports statements to the health probes: a write refused for a full disk (SQLITE_FULL)
    // shows in /readyz and the logs; SQLite is local, so there is no circuit breaker.
    const health = new DatabaseHealth({
      label: `SQLite ${file}`,
      ping: async () => {
        await sql`select 1`.execute(db);
      },
      isOutage: isSqliteOutage,
      breaker: false,
      // The one connection may be held by a transaction waiting out busy_timeout (5 s): a slow
      // answer is contention, not an outage.
      intervalMs: 5_000,
      downIntervalMs: 1_000,
      timeoutMs: 6_000,
      ...(file === ':memory:' ? {} : { storageCheck: () => checkWritable(dirname(file)) }),
    });
    const db = new Kysely<GatehouseDb>({ dialect: observedDialect(new SqliteDialect({ database: cachedStatements(handle) }), health) });
    shared = { db, health, handle, refs: 1, ready: migrateSqlite(db) };
    if (file !== ':memory:') openFiles.set(file, shared);
  }
  try {
    await shared.ready;
    return shared;
  } catch (err) {
    await release(file, shared);
    throw err;
  }
}

async function release(file: string, shared: Shared): Promise<void> {
  shared.refs--;
  if (shared.refs > 0) return;
  if (openFiles.get(file) === shared) openFiles.delete(file);
  shared.health.stop();
  await shared.db.destroy();
}

/**
 * Opens every store on one SQLite file and runs the migrations. Rate-limit counters live in
 * this process's memory (they expire by themselves and need no durability).
 */
export async function openSqliteStores(options: SqliteStoresOptions): Promise<Stores> {
  const file = options.file === ':memory:' ? options.file : resolve(options.file);
  const shared = await acquire(file);
  return buildSqlStores(shared.db, sqliteFlavor, `SQLite ${file}`, () => release(file, shared), shared.health, { handle: shared.handle, observer: shared.health });
}
