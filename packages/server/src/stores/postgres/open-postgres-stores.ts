import type { Clock } from '../../util/clock.js';
import { buildSqlStores } from '../sql/sql-stores.js';
import type { Stores } from '../types.js';
import { DatabaseHealth } from '../health/database-health.js';
import type { ProbeOptions } from '../health/probe.js';
import { createKysely, createPing, createPool, describePostgres, migratePostgres, poolConfig, schemaOf, type PostgresConnectionOptions } from './postgres-database.js';
import { isPostgresOutage, postgresFlavor } from './postgres-flavor.js';

export interface PostgresStoresOptions extends PostgresConnectionOptions {
  clock: Clock;
  /** Told which migrations this instance applied (empty when the schema was current). */
  onMigrated?: (applied: readonly string[]) => void;
  /** Told of errors of idle pooled connections (server restart, network loss); they never throw. */
  onPoolError?: (err: Error) => void;
  /** Background checks and circuit breaker (tests shorten them); defaults in `Probe`. */
  health?: Omit<ProbeOptions, 'check'>;
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

  const label = describePostgres(options.url, schema);
  const probe = createPing(options, options.health?.timeoutMs ?? 1000);
  // The circuit breaker: after a connection failure or timeout (of a request or of the
  // background check) calls are refused at once until a background `select 1` answers again.
  const health = new DatabaseHealth({ label, ping: probe.ping, isOutage: isPostgresOutage, breaker: true, ...options.health });
  const pool = createPool(poolConfig(options), options.onPoolError);
  const base = createKysely(pool, schema, health);
  return buildSqlStores(base, postgresFlavor, label, async () => {
    health.stop();
    await probe.close().catch(() => undefined);
    await base.destroy();
  }, health);
}
