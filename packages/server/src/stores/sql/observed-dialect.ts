import type { CompiledQuery, DatabaseConnection, DatabaseIntrospector, Dialect, DialectAdapter, Driver, Kysely, QueryCompiler, QueryResult, TransactionSettings } from 'kysely';

/** What sees every query of a database: the circuit breaker and the health probes (`stores/health`). */
export interface QueryObserver {
  /** Before a connection is taken: throws to refuse the call at once (breaker open). */
  beforeAcquire(): void;
  /** A statement or a connection attempt failed. */
  failed(err: unknown): void;
  /** A statement succeeded; `write` for INSERT/UPDATE/DELETE (the storage accepted data). */
  succeeded(write: boolean): void;
  /**
   * A promise that rejects when statements in flight should stop waiting (the breaker opened:
   * the database hangs); undefined when there is no such signal.
   */
  interrupt?(): Promise<never> | undefined;
}

const WRITE_KINDS = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

class ObservedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly observer: QueryObserver,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    let result: QueryResult<R>;
    try {
      const pending = this.inner.executeQuery<R>(query);
      const interrupt = this.observer.interrupt?.();
      if (interrupt === undefined) {
        result = await pending;
      } else {
        // Given up on when the breaker opens; its own late failure is of no interest then.
        pending.catch(() => undefined);
        result = await Promise.race([pending, interrupt]);
      }
    } catch (err) {
      this.observer.failed(err);
      throw err;
    }
    this.observer.succeeded(WRITE_KINDS.has(query.query.kind));
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const unwrap = (c: DatabaseConnection): DatabaseConnection => (c instanceof ObservedConnection ? c.inner : c);

class ObservedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly observer: QueryObserver,
  ) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    this.observer.beforeAcquire();
    let conn: DatabaseConnection;
    try {
      conn = await this.inner.acquireConnection();
    } catch (err) {
      this.observer.failed(err);
      throw err;
    }
    return new ObservedConnection(conn, this.observer);
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(unwrap(c), settings);
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(unwrap(c));
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(unwrap(c));
  }
  savepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (this.inner.savepoint === undefined) throw new Error('savepoints are not supported');
    return this.inner.savepoint(unwrap(c), name, compile);
  }
  rollbackToSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (this.inner.rollbackToSavepoint === undefined) throw new Error('savepoints are not supported');
    return this.inner.rollbackToSavepoint(unwrap(c), name, compile);
  }
  releaseSavepoint(c: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    if (this.inner.releaseSavepoint === undefined) throw new Error('savepoints are not supported');
    return this.inner.releaseSavepoint(unwrap(c), name, compile);
  }
  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/**
 * A kysely dialect whose driver reports every connection attempt and statement to `observer`
 * and asks it before taking a connection: the one place where the circuit breaker refuses
 * calls and where outages and full disks are noticed, whatever store made the call.
 */
export function observedDialect(inner: Dialect, observer: QueryObserver): Dialect {
  return {
    createDriver: () => new ObservedDriver(inner.createDriver(), observer),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createAdapter: (): DialectAdapter => inner.createAdapter(),
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the signature of kysely's Dialect
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => inner.createIntrospector(db),
  };
}
