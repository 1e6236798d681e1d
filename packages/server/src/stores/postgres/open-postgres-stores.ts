import { sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import type { Clock } from '../../util/clock.js';
import { SqliteApiTokenStore } from '../api-tokens/sqlite-api-token-store.js';
import { SqliteAuditStore } from '../audit/sqlite-audit-store.js';
import { SqliteKeyStore } from '../keys/sqlite-key-store.js';
import { MemoryRateLimitStore } from '../rate-limits/memory-rate-limit-store.js';
import { SqliteRefreshTokenStore } from '../refresh-tokens/sqlite-refresh-token-store.js';
import { SqliteRevocationStore } from '../revocations/sqlite-revocation-store.js';
import { SqliteSessionStore } from '../sessions/sqlite-session-store.js';
import type { Stores } from '../types.js';
import { SqliteUserStore } from '../users/sqlite-user-store.js';
import { createKysely, createPool, describePostgres, migratePostgres, poolConfig, schemaOf, type PostgresConnectionOptions } from './postgres-database.js';
import { postgresFlavor } from './postgres-flavor.js';

export interface PostgresStoresOptions extends PostgresConnectionOptions {
  clock: Clock;
  /** Told which migrations this instance applied (empty when the schema was current). */
  onMigrated?: (applied: readonly string[]) => void;
  /** Told of errors of idle pooled connections (server restart, network loss); they never throw. */
  onPoolError?: (err: Error) => void;
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
 * Opens every store on one PostgreSQL database (scale-out): runs the migrations under an
 * advisory lock, then serves the same kysely stores as SQLite with the PostgreSQL flavor on a
 * bounded pool. Every query is bounded by `statement_timeout` (server) and the pool's
 * connection timeout; outages surface as StoreUnavailableError, never as a hang.
 */
export async function openPostgresStores(options: PostgresStoresOptions): Promise<Stores> {
  const schema = schemaOf(options);
  const applied = await migratePostgres(options);
  options.onMigrated?.(applied);

  const pool = createPool(poolConfig(options), options.onPoolError);
  const guard = new ClosedGuard();
  const base = createKysely(pool, schema);
  const db = base.withPlugin(guard);
  const label = describePostgres(options.url, schema);
  return {
    // Rate-limit counters stay per instance until the Redis counter store exists (issue 4).
    describe: { users: label, sessions: label, keys: label, revocations: label, refreshTokens: label, apiTokens: label, rateLimits: 'memory', audit: label },
    users: new SqliteUserStore(db, postgresFlavor),
    sessions: new SqliteSessionStore(db, postgresFlavor),
    keys: new SqliteKeyStore(db, postgresFlavor),
    revocations: new SqliteRevocationStore(db, postgresFlavor),
    refreshTokens: new SqliteRefreshTokenStore(db, postgresFlavor),
    apiTokens: new SqliteApiTokenStore(db, postgresFlavor),
    rateLimits: new MemoryRateLimitStore(),
    audit: new SqliteAuditStore(db, postgresFlavor),
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
      await base.destroy();
    },
  };
}
