import { sql, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type RefreshTokensTable, type SessionsTable } from '../sql/schema.js';
import { toSessionRecord } from '../sessions/sql-session-store.js';
import type { QueryObserver } from '../sql/observed-dialect.js';
import type { SqliteHandle, SqliteStatement } from '../sqlite/database.js';
import type { RefreshTokenRecord, RefreshTokenStore, RefreshTokenWithSession } from '../types.js';
import { toUserSummary, USER_SUMMARY_COLUMNS, type UserSummaryColumns } from '../users/sql-user-store.js';

function toRecord(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    createdAt: num(row.created_at),
    rotatedAt: numOrNull(row.rotated_at),
    clientId: row.client_id ?? null,
  };
}

/** What `findWithSession`'s join adds to a sessions row: the token's own columns, renamed apart. */
interface TokenColumns {
  rt_token_hash: string;
  rt_created_at: number;
  rt_rotated_at: number | null;
  rt_client_id: string | null;
}

type WithSessionRow = Selectable<SessionsTable> & TokenColumns & UserSummaryColumns;

function withSessionOf(row: WithSessionRow | undefined): RefreshTokenWithSession | null {
  if (!row) return null;
  return {
    token: { tokenHash: row.rt_token_hash, sessionId: row.id, createdAt: num(row.rt_created_at), rotatedAt: numOrNull(row.rt_rotated_at), clientId: row.rt_client_id ?? null },
    session: toSessionRecord(row),
    user: toUserSummary(row),
  };
}

/** Rolls a rotation back that lost its compare-and-swap after sliding the session (a racer won). */
class LostRace {}

/**
 * The statements of a refresh, compiled once per store: kysely's builder costs ~20 µs a query,
 * more than SQLite takes to run most of them. Each runs again with its parameters in the order
 * noted (the order of their placeholders in the SQL text).
 */
function compileRefreshQueries(db: Kysely<GatehouseDb>) {
  return {
    /** [tokenHash]: the token, its session and the session's user (never the password hash). */
    withSession: db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('sessions')
      .select(['refresh_tokens.token_hash as rt_token_hash', 'refresh_tokens.created_at as rt_created_at', 'refresh_tokens.rotated_at as rt_rotated_at', 'refresh_tokens.client_id as rt_client_id'])
      .select(USER_SUMMARY_COLUMNS)
      .where('refresh_tokens.token_hash', '=', '')
      .compile(),
    /**
     * [lastSeenAt, expiresAt, expiresAt, oldHash]: slides the session of a current token (never
     * past its absolute expiry). First in the transaction, so the session's row is locked
     * before its tokens', the order in which deleting a session cascades (no deadlock with one).
     */
    slide: db
      .updateTable('sessions')
      .set({ last_seen_at: 0, expires_at: sql<number>`case when ${0} < absolute_expires_at then ${0} else absolute_expires_at end` })
      .where('id', '=', (eb) => eb.selectFrom('refresh_tokens').select('session_id').where('token_hash', '=', '').where('rotated_at', 'is', null))
      .compile(),
    /** [now, oldHash]: the compare-and-swap: only one caller moves rotated_at off null. */
    cas: db
      .updateTable('refresh_tokens')
      .set({ rotated_at: 0 })
      .where('token_hash', '=', '')
      .where('rotated_at', 'is', null)
      .returning(['session_id', 'client_id'])
      .compile(),
    /** [tokenHash, sessionId, createdAt, clientId]: the successor, current. */
    insertSuccessor: db
      .insertInto('refresh_tokens')
      .values({ token_hash: '', session_id: '', created_at: 0, rotated_at: sql<null>`null`, client_id: '' })
      .compile(),
    /** [tokenHash]: whether the token exists at all. */
    exists: db.selectFrom('refresh_tokens').select('token_hash').where('token_hash', '=', '').compile(),
  } satisfies Record<string, CompiledQuery>;
}

/**
 * The SQLite connection itself, for the refresh's statements run synchronously (better-sqlite3)
 * while the store holds kysely's connection: kysely's path costs an await, a mutex turn and an
 * observer call per statement, more than SQLite takes to run them (bench/refresh-store.mjs).
 * `observer` hears of each call as the observed dialect would tell it (disk full, success).
 */
export interface DirectSqlite {
  handle: SqliteHandle;
  observer: QueryObserver;
}

/** Runs a compiled query again with new parameters. */
function bind(query: CompiledQuery, parameters: readonly unknown[]): CompiledQuery {
  return { ...query, parameters };
}

/**
 * RefreshTokenStore over kysely. A refresh is one read (`findWithSession`: token, session and
 * user in one join) and one write transaction (`rotate`: the session's slide, the
 * compare-and-swap of the old token and the successor's insert); the queries of both are
 * compiled once. Rotation runs in the flavor's rowLockTransaction (BEGIN IMMEDIATE on SQLite,
 * READ COMMITTED with row locks on PostgreSQL), so concurrent refreshes of one token leave
 * exactly one current token and refreshes of different tokens never fail each other. Rows go
 * with their session (foreign key, on delete cascade).
 */
export class SqlRefreshTokenStore implements RefreshTokenStore {
  private readonly q: ReturnType<typeof compileRefreshQueries>;

  /** The SQLite path (undefined on PostgreSQL): the two calls of a refresh run synchronously on the connection. */
  private readonly direct: DirectPath | undefined;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
    direct?: DirectSqlite,
  ) {
    this.q = compileRefreshQueries(db);
    this.direct = direct === undefined ? undefined : new DirectPath(direct, this.q);
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'refresh tokens', op);
  }

  create(r: RefreshTokenRecord): Promise<boolean> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const session = await trx.selectFrom('sessions').select('id').where('id', '=', r.sessionId).executeTakeFirst();
        if (!session) return false;
        await trx
          .insertInto('refresh_tokens')
          .values({ token_hash: r.tokenHash, session_id: r.sessionId, created_at: r.createdAt, rotated_at: r.rotatedAt, client_id: r.clientId })
          .execute();
        return true;
      }),
    );
  }

  findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  findWithSession(tokenHash: string): Promise<RefreshTokenWithSession | null> {
    const direct = this.direct;
    if (direct !== undefined) return this.run(() => this.db.connection().execute(async () => withSessionOf(direct.find(tokenHash))));
    return this.run(async () => {
      const { rows } = await this.db.executeQuery<WithSessionRow>(bind(this.q.withSession, [tokenHash]));
      return withSessionOf(rows[0]);
    });
  }

  rotate(oldHash: string, next: RefreshTokenRecord, now: number, sessionExpiresAt?: number): Promise<'rotated' | 'already_rotated' | 'unknown'> {
    const q = this.q;
    const direct = this.direct;
    // Inside kysely's connection (its mutex): no kysely transaction is open on it meanwhile.
    if (direct !== undefined) return this.run(() => this.db.connection().execute(async () => direct.rotate(oldHash, next, now, sessionExpiresAt)));
    return this.run(async () => {
      try {
        return await this.flavor.rowLockTransaction(this.db, async (trx) => {
          const notRotated = async (): Promise<'already_rotated' | 'unknown'> =>
            (await trx.executeQuery(bind(q.exists, [oldHash]))).rows.length > 0 ? 'already_rotated' : 'unknown';
          if (sessionExpiresAt !== undefined) {
            const slid = await trx.executeQuery(bind(q.slide, [now, sessionExpiresAt, sessionExpiresAt, oldHash]));
            // No current token with this hash: nothing to rotate, nothing written.
            if (Number(slid.numAffectedRows ?? 0) === 0) return notRotated();
          }
          const swapped = await trx.executeQuery<{ session_id: string; client_id: string | null }>(bind(q.cas, [now, oldHash]));
          const old = swapped.rows[0];
          if (!old) {
            // A racer rotated it between the slide and here (PostgreSQL only: SQLite's write
            // lock serializes them): undo the slide, as if this call had come second.
            if (sessionExpiresAt !== undefined) throw new LostRace();
            return notRotated();
          }
          // The successor keeps the session and the client of the token it replaces.
          await trx.executeQuery(bind(q.insertSuccessor, [next.tokenHash, old.session_id, next.createdAt, old.client_id ?? null]));
          return 'rotated';
        });
      } catch (err) {
        if (err instanceof LostRace) return 'already_rotated';
        throw err;
      }
    });
  }

  listBySession(sessionId: string): Promise<RefreshTokenRecord[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('session_id', '=', sessionId)
        .orderBy('created_at')
        .orderBy('token_hash')
        .execute();
      return rows.map(toRecord);
    });
  }
}

type Statement = SqliteStatement;
type RotateResult = 'rotated' | 'already_rotated' | 'unknown';

/**
 * The refresh's read and rotation as synchronous better-sqlite3 calls: the same SQL as the
 * kysely path (its compiled text), prepared once, the rotation in one BEGIN IMMEDIATE
 * transaction. SQLite's write lock serializes writers, so the compare-and-swap cannot lose
 * after the slide here (the kysely path's LostRace is PostgreSQL's).
 */
class DirectPath {
  private statements: { withSession: Statement; slide: Statement; cas: Statement; insertSuccessor: Statement; exists: Statement } | undefined;
  private readonly rotateTx: (oldHash: string, next: RefreshTokenRecord, now: number, sessionExpiresAt: number | undefined) => RotateResult;

  constructor(
    private readonly direct: DirectSqlite,
    private readonly q: ReturnType<typeof compileRefreshQueries>,
  ) {
    this.rotateTx = direct.handle.transaction((oldHash: string, next: RefreshTokenRecord, now: number, sessionExpiresAt: number | undefined): RotateResult => {
      const st = this.prepared();
      const notRotated = (): RotateResult => (st.exists.get(oldHash) !== undefined ? 'already_rotated' : 'unknown');
      if (sessionExpiresAt !== undefined && st.slide.run(now, sessionExpiresAt, sessionExpiresAt, oldHash).changes === 0) return notRotated();
      const old = st.cas.get(now, oldHash) as { session_id: string; client_id: string | null } | undefined;
      if (old === undefined) return notRotated();
      st.insertSuccessor.run(next.tokenHash, old.session_id, next.createdAt, old.client_id ?? null);
      return 'rotated';
    }).immediate;
  }

  /** Prepared on first use (after the migrations ran). */
  private prepared() {
    if (this.statements === undefined) {
      const h = this.direct.handle;
      const q = this.q;
      this.statements = {
        withSession: h.prepare(q.withSession.sql),
        slide: h.prepare(q.slide.sql),
        cas: h.prepare(q.cas.sql),
        insertSuccessor: h.prepare(q.insertSuccessor.sql),
        exists: h.prepare(q.exists.sql),
      };
    }
    return this.statements;
  }

  find(tokenHash: string): WithSessionRow | undefined {
    const observer = this.direct.observer;
    try {
      const row = this.prepared().withSession.get(tokenHash) as WithSessionRow | undefined;
      observer.succeeded(false);
      return row;
    } catch (err) {
      observer.failed(err);
      throw err;
    }
  }

  rotate(oldHash: string, next: RefreshTokenRecord, now: number, sessionExpiresAt: number | undefined): RotateResult {
    const observer = this.direct.observer;
    try {
      const result = this.rotateTx(oldHash, next, now, sessionExpiresAt);
      observer.succeeded(result === 'rotated');
      return result;
    } catch (err) {
      observer.failed(err);
      throw err;
    }
  }
}
