import { Kysely, Migrator, PostgresDialect, sql, type DatabaseIntrospector, type Migration, type TableMetadata, type MigrationProvider, type PostgresDialectConfig } from 'kysely';
import pg from 'pg';
import { StoreUnavailableError } from '../../errors/index.js';
import { observedDialect, type QueryObserver } from '../sql/observed-dialect.js';
import { gatehouseMigrations } from '../sql/migrations.js';
import type { GatehouseDb } from '../sql/schema.js';
import { postgresFlavor } from './postgres-flavor.js';

/** Connection settings shared by the store pool and the migration connection. */
export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database?sslmode=…`; never logged. */
  url: string;
  /** Schema holding Gatehouse's tables (created when missing); default `public`. */
  schema?: string;
  /** Server-side bound of every statement (also lock waits); default 2000 ms. */
  statementTimeoutMs?: number;
  /** Bound of opening a connection and of waiting for a free one in the pool; default 2000 ms. */
  connectionTimeoutMs?: number;
  /** Connections in the pool; default 10. */
  poolMax?: number;
}

export const DEFAULT_STATEMENT_TIMEOUT_MS = 2000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 2000;
export const DEFAULT_POOL_MAX = 10;
/** Statements of the migration connection (including the wait for the advisory lock). */
const MIGRATION_STATEMENT_TIMEOUT_MS = 60_000;
/** First key of the session-level advisory lock around migrations ("GATE"); the second is the schema's hash. */
export const MIGRATION_LOCK_CLASS = 0x47415445;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function schemaOf(options: PostgresConnectionOptions): string {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new Error('PostgreSQL schema name must be a plain identifier (letters, digits, _)');
  return schema;
}

/**
 * "PostgreSQL host:port/database" for the start line and /readyz: never the user or password.
 * A schema other than `public` is named too.
 */
export function describePostgres(url: string, schema = 'public'): string {
  const suffix = schema === 'public' ? '' : ` (schema ${schema})`;
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    const port = u.port || '5432';
    const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
    return `PostgreSQL ${host}:${port}/${database}${suffix}`;
  } catch {
    return `PostgreSQL${suffix}`;
  }
}

/**
 * pg pool settings. The URL's own parameters win in pg (sslmode, application_name, …), so the
 * search path and timeouts go in as startup parameters the URL normally does not carry; an
 * `options` parameter of the URL is kept and extended.
 */
export function poolConfig(options: PostgresConnectionOptions, overrides: { statementTimeoutMs?: number; max?: number } = {}): pg.PoolConfig {
  const schema = schemaOf(options);
  const statementTimeoutMs = overrides.statementTimeoutMs ?? options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const connectionTimeoutMs = options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS;
  let connectionString = options.url;
  let urlOptions = '';
  try {
    const u = new URL(options.url);
    urlOptions = u.searchParams.get('options') ?? '';
    if (u.searchParams.has('options')) {
      u.searchParams.delete('options');
      connectionString = u.toString();
    }
  } catch {
    // Not a URL pg-connection-string and we agree on; let pg report it.
  }
  return {
    connectionString,
    options: `${urlOptions} -c search_path=${schema}`.trim(),
    statement_timeout: statementTimeoutMs,
    lock_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: Math.max(10_000, statementTimeoutMs * 5),
    // Client-side bound too, for a server that stops answering without closing the socket.
    query_timeout: statementTimeoutMs + connectionTimeoutMs,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: 30_000,
    max: overrides.max ?? options.poolMax ?? DEFAULT_POOL_MAX,
    keepAlive: true,
    application_name: 'gatehouse',
  };
}

/**
 * kysely's PostgreSQL dialect with introspection limited to one schema. kysely's introspector
 * lists the tables of every schema, so on a database shared by several schemas (tests, or
 * several deployments) the migrations' "does this table or column exist" checks, and the
 * Migrator's own, would see another schema's tables.
 */
class SchemaScopedPostgresDialect extends PostgresDialect {
  constructor(
    config: PostgresDialectConfig,
    private readonly schema: string,
  ) {
    super(config);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature of kysely's Dialect
  override createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    const inner = super.createIntrospector(db);
    const schema = this.schema;
    // Ask the catalog about this schema only: listing every schema and filtering afterwards
    // also fails when another schema is dropped while the listing runs.
    const getTables: DatabaseIntrospector['getTables'] = async () => {
      const { rows } = await sql<{ table_name: string; table_type: string; column_name: string | null; data_type: string | null; udt_schema: string | null; is_nullable: string | null; column_default: string | null; is_identity: string | null }>`
        select t.table_name, t.table_type, c.column_name, c.data_type, c.udt_schema, c.is_nullable, c.column_default, c.is_identity
        from information_schema.tables t
        left join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
        where t.table_schema = ${schema}
        order by t.table_name, c.ordinal_position`.execute(db);
      const tables = new Map<string, TableMetadata>();
      for (const r of rows) {
        let table = tables.get(r.table_name);
        if (table === undefined) {
          table = { name: r.table_name, schema, isView: r.table_type === 'VIEW', columns: [] };
          tables.set(r.table_name, table);
        }
        if (r.column_name === null) continue;
        table.columns.push({
          name: r.column_name,
          dataType: r.data_type ?? '',
          dataTypeSchema: r.udt_schema ?? undefined,
          isNullable: r.is_nullable === 'YES',
          isAutoIncrementing: r.is_identity === 'YES' || (r.column_default ?? '').startsWith('nextval('),
          hasDefaultValue: r.column_default !== null,
        });
      }
      return [...tables.values()];
    };
    return {
      getSchemas: () => inner.getSchemas(),
      getTables,
      getMetadata: async (options) => ({ tables: await getTables(options) }),
    };
  }
}

/**
 * A pg pool whose connection errors (server restart, network loss) never crash the process.
 * pg-pool listens for errors of idle clients only; a client that is checked out (mid-query, or
 * between the statements of a transaction) emits 'error' with no listener when its socket
 * ends, which would be an uncaught exception. The query itself fails and is mapped by the
 * stores; the event is only reported.
 */
export function createPool(config: pg.PoolConfig, onError?: (err: Error) => void): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', (err) => onError?.(err));
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** kysely on `pool`; with `observer`, every connection and statement is reported to it (circuit breaker, health). */
export function createKysely(pool: pg.Pool, schema: string, observer?: QueryObserver): Kysely<GatehouseDb> {
  const dialect = new SchemaScopedPostgresDialect({ pool }, schema);
  return new Kysely<GatehouseDb>({ dialect: observer === undefined ? dialect : observedDialect(dialect, observer) });
}

/**
 * `select 1` on a connection of its own (a one-connection pool, bounded by `timeoutMs` to connect
 * and to answer), outside the request pool and its circuit breaker: the background check of
 * PostgreSQL's health. A connection that failed is dropped, never reused.
 */
export function createPing(options: PostgresConnectionOptions, timeoutMs: number): { ping: () => Promise<void>; close: () => Promise<void> } {
  const config = poolConfig({ ...options, connectionTimeoutMs: timeoutMs }, { statementTimeoutMs: timeoutMs, max: 1 });
  const pool = createPool({ ...config, query_timeout: timeoutMs, application_name: 'gatehouse-probe' });
  return {
    async ping() {
      const client = await pool.connect();
      try {
        await client.query('select 1');
      } catch (err) {
        client.release(true);
        throw err;
      }
      client.release();
    },
    close: () => pool.end(),
  };
}

class InCodeProvider implements MigrationProvider {
  constructor(private readonly migrations: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.migrations;
  }
}

/**
 * Brings the schema to the latest version and returns the names of the migrations this call
 * applied (empty when another instance did them). Runs on one dedicated connection that holds
 * a session-level advisory lock (MIGRATION_LOCK_CLASS, hash of the schema) for the whole run,
 * so instances starting together on an empty database queue up: the first migrates, the
 * others find nothing to do. The connection is closed afterwards, which releases the lock
 * even when the unlock could not be sent. Connection failures become StoreUnavailableError.
 */
export async function migratePostgres(options: PostgresConnectionOptions): Promise<string[]> {
  const schema = schemaOf(options);
  const db = createKysely(createPool(poolConfig(options, { statementTimeoutMs: MIGRATION_STATEMENT_TIMEOUT_MS, max: 1 })), schema);
  const migrations = gatehouseMigrations(postgresFlavor);
  try {
    return await db.connection().execute(async (conn) => {
      // Fast path of every start but the first: the schema is current, no lock needed
      // (migrations are only ever added, so "all names recorded" means up to date).
      const recorded = await sql<{ name: string }>`select name from ${sql.id(schema, 'kysely_migration')}`.execute(conn).then(
        (r) => new Set(r.rows.map((x) => x.name)),
        () => null,
      );
      if (recorded && Object.keys(migrations).every((name) => recorded.has(name))) return [];

      await sql`select pg_advisory_lock(${MIGRATION_LOCK_CLASS}::int4, hashtext(${schema}))`.execute(conn);
      try {
        await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
        const migrator = new Migrator({ db: conn, provider: new InCodeProvider(migrations), migrationTableSchema: schema });
        const { error, results } = await migrator.migrateToLatest();
        if (error !== undefined) {
          if (postgresFlavor.classify(error).kind === 'unavailable') throw error;
          const failed = results?.find((r) => r.status === 'Error')?.migrationName;
          throw new Error(`PostgreSQL migration ${failed ?? '(setup)'} failed`, { cause: error });
        }
        return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_CLASS}::int4, hashtext(${schema}))`.execute(conn).catch(() => undefined);
      }
    });
  } catch (err) {
    if (postgresFlavor.classify(err).kind === 'unavailable') throw new StoreUnavailableError('PostgreSQL', err);
    throw err;
  } finally {
    await db.destroy().catch(() => undefined);
  }
}
