import type { Clock } from '../../util/clock.js';
import { buildSqlStores } from '../sql/sql-stores.js';
import type { Stores } from '../types.js';
import { createKysely, createPool, describePostgres, migratePostgres, poolConfig, schemaOf, type PostgresConnectionOptions } from './postgres-database.js';
import { postgresFlavor } from './postgres-flavor.js';

export interface PostgresStoresOptions extends PostgresConnectionOptions {
  clock: Clock;
  /** Told which migrations this instance applied (empty when the schema was current). */
  onMigrated?: (applied: readonly string[]) => void;
  /** Told of errors of idle pooled connections (server restart, network loss); they never throw. */
  onPoolError?: (err: Error) => void;
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
  const base = createKysely(pool, schema);
  return buildSqlStores(base, postgresFlavor, describePostgres(options.url, schema), () => base.destroy());
}
