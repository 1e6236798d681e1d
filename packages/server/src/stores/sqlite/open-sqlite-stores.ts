import { resolve } from 'node:path';
import { Kysely, SqliteDialect, sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import type { Clock } from '../../util/clock.js';
import { SqliteApiTokenStore } from '../api-tokens/sqlite-api-token-store.js';
import { SqliteAuditStore } from '../audit/sqlite-audit-store.js';
import { SqliteKeyStore } from '../keys/sqlite-key-store.js';
import { MemoryRateLimitStore } from '../rate-limits/memory-rate-limit-store.js';
import { SqliteRefreshTokenStore } from '../refresh-tokens/sqlite-refresh-token-store.js';
import { SqliteRevocationStore } from '../revocations/sqlite-revocation-store.js';
import { SqliteSessionStore } from '../sessions/sqlite-session-store.js';
import type { GatehouseDb } from '../sql/schema.js';
import type { Stores } from '../types.js';
import { SqliteUserStore } from '../users/sqlite-user-store.js';
import { openSqliteDatabase } from './database.js';
import { migrateSqlite } from './migrations.js';
import { sqliteFlavor } from './sqlite-flavor.js';

export interface SqliteStoresOptions {
  /** Path of the database file (created with its directory when missing), or ':memory:'. */
  file: string;
  clock: Clock;
}

interface Shared {
  db: Kysely<GatehouseDb>;
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
    const db = new Kysely<GatehouseDb>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    shared = { db, refs: 1, ready: migrateSqlite(db) };
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
  await shared.db.destroy();
}

/** Makes one Stores' queries fail like a closed connection once that Stores is closed. */
class ClosedGuard implements KyselyPlugin {
  closed = false;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.closed) throw new Error('The database connection is not open');
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/**
 * Opens every store on one SQLite file and runs the migrations. Rate-limit counters live in
 * this process's memory (they expire by themselves and need no durability).
 */
export async function openSqliteStores(options: SqliteStoresOptions): Promise<Stores> {
  const file = options.file === ':memory:' ? options.file : resolve(options.file);
  const shared = await acquire(file);
  const guard = new ClosedGuard();
  const db = shared.db.withPlugin(guard);
  const label = `SQLite ${file}`;
  return {
    describe: { users: label, sessions: label, keys: label, revocations: label, refreshTokens: label, apiTokens: label, rateLimits: 'memory', audit: label },
    users: new SqliteUserStore(db, sqliteFlavor),
    sessions: new SqliteSessionStore(db, sqliteFlavor),
    keys: new SqliteKeyStore(db, sqliteFlavor),
    revocations: new SqliteRevocationStore(db, sqliteFlavor),
    refreshTokens: new SqliteRefreshTokenStore(db, sqliteFlavor),
    apiTokens: new SqliteApiTokenStore(db, sqliteFlavor),
    rateLimits: new MemoryRateLimitStore(),
    audit: new SqliteAuditStore(db, sqliteFlavor),
    async ready() {
      let ok = false;
      try {
        await sql`select 1`.execute(db);
        ok = true;
      } catch {
        ok = false;
      }
      return { users: ok, sessions: ok, keys: ok, revocations: ok, refreshTokens: ok, apiTokens: ok, rateLimits: true, audit: ok };
    },
    async close() {
      if (guard.closed) return;
      guard.closed = true;
      await release(file, shared);
    },
  };
}
