import { sql, type CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, type GatehouseDb, type SessionsTable } from '../sql/schema.js';
import type { SessionRecord, SessionStore, UserSummary } from '../types.js';
import { compileWithUser, toUserSummary, type UserSummaryColumns } from '../users/sql-user-store.js';

/** A sessions row as a SessionRecord (also read by the refresh-token store's join). */
export function toSessionRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    userId: row.user_id,
    deviceId: row.device_id,
    deviceName: row.device_name,
    csrfToken: row.csrf_token,
    persistent: num(row.persistent) !== 0,
    createdAt: num(row.created_at),
    lastSeenAt: num(row.last_seen_at),
    expiresAt: num(row.expires_at),
    absoluteExpiresAt: num(row.absolute_expires_at),
    scope: row.scope ?? null,
    amr: parseAmr(row.amr),
    authTime: row.auth_time === null ? num(row.created_at) : num(row.auth_time),
  };
}

/** The stored form of an amr: RFC 8176 method names separated by single spaces. */
export function formatAmr(amr: readonly string[] | undefined): string {
  return (amr ?? DEFAULT_AMR).join(' ');
}

/** Every session from before migration 0010, and any created without one, proved a password. */
const DEFAULT_AMR: readonly string[] = Object.freeze(['pwd']);

function parseAmr(v: string | null): string[] {
  if (v === null || v === '') return [...DEFAULT_AMR];
  return v.split(' ');
}

/** SessionStore over kysely. Only the SHA-256 of the session secret is stored (tokenHash). */
export class SqlSessionStore implements SessionStore {
  /** `getWithUser`'s join, compiled once (compileWithUser). */
  private readonly withUser: CompiledQuery;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {
    this.withUser = compileWithUser(db, 'sessions');
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'sessions', op);
  }

  /**
   * One session per device: the device's earlier sessions are deleted and the new one inserted in
   * one transaction, under the user's row lock (`flavor.lockUser`), so sign-ins racing on one
   * device leave one session, while other users' sign-ins never wait for or fail each other
   * (SERIALIZABLE's predicate locks on the sessions index made them fail each other with 40001
   * on PostgreSQL, past the retries: 503s under parallel sign-ins, issue 19).
   */
  createReplacingDevice(s: SessionRecord): Promise<{ replaced: string[] }> {
    return this.run(() =>
      this.flavor.rowLockTransaction(this.db, async (trx) => {
        await this.flavor.lockUser(trx, s.userId);
        const old = await trx
          .deleteFrom('sessions')
          .where('user_id', '=', s.userId)
          .where('device_id', '=', s.deviceId)
          .returning('id')
          .execute();
        await trx
          .insertInto('sessions')
          .values({
            id: s.id,
            token_hash: s.tokenHash,
            user_id: s.userId,
            device_id: s.deviceId,
            device_name: s.deviceName,
            csrf_token: s.csrfToken,
            persistent: s.persistent ? 1 : 0,
            created_at: s.createdAt,
            last_seen_at: s.lastSeenAt,
            expires_at: s.expiresAt,
            absolute_expires_at: s.absoluteExpiresAt,
            scope: s.scope ?? null,
            amr: formatAmr(s.amr),
            auth_time: s.authTime ?? s.createdAt,
          })
          .execute();
        return { replaced: old.map((r) => r.id) };
      }),
    );
  }

  findByTokenHash(tokenHash: string): Promise<SessionRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toSessionRecord(row) : null;
    });
  }

  getWithUser(tokenHash: string): Promise<{ session: SessionRecord; user: UserSummary } | null> {
    return this.run(async () => {
      const { rows } = await this.db.executeQuery<Selectable<SessionsTable> & UserSummaryColumns>({ ...this.withUser, parameters: [tokenHash] });
      const row = rows[0];
      return row ? { session: toSessionRecord(row), user: toUserSummary(row) } : null;
    });
  }

  findById(id: string): Promise<SessionRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toSessionRecord(row) : null;
    });
  }

  listByUser(userId: string): Promise<SessionRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toSessionRecord);
    });
  }

  touch(id: string, lastSeenAt: number, expiresAt: number): Promise<void> {
    return this.run(async () => {
      // The sliding expiry never passes the absolute one.
      await this.db
        .updateTable('sessions')
        .set({
          last_seen_at: lastSeenAt,
          expires_at: sql<number>`case when ${expiresAt} < absolute_expires_at then ${expiresAt} else absolute_expires_at end`,
        })
        .where('id', '=', id)
        .execute();
    });
  }

  recordAuthentication(id: string, amr: readonly string[], authTime: number): Promise<SessionRecord | null> {
    return this.run(async () => {
      // One statement: a call older than the stored auth_time changes nothing (never backwards).
      await this.db
        .updateTable('sessions')
        .set({ amr: formatAmr(amr), auth_time: authTime })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('auth_time', 'is', null), eb('auth_time', '<=', authTime)]))
        .execute();
      const row = await this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toSessionRecord(row) : null;
    });
  }

  delete(id: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('sessions').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  deleteByUser(userId: string, exceptId?: string): Promise<string[]> {
    return this.run(async () => {
      let q = this.db.deleteFrom('sessions').where('user_id', '=', userId);
      if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
      const rows = await q.returning('id').execute();
      return rows.map((r) => r.id);
    });
  }

  deleteByClient(clientId: string): Promise<SessionRecord[]> {
    return this.run(async () => {
      // One statement: the sessions whose refresh tokens name the client (a successor keeps its
      // predecessor's client, so every token of a family names the same one), with their rows.
      const ofClient = this.db.selectFrom('refresh_tokens').select('session_id').where('client_id', '=', clientId);
      const rows = await this.db.deleteFrom('sessions').where('id', 'in', ofClient).returningAll().execute();
      return rows.map(toSessionRecord);
    });
  }

  deleteExpired(now: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('absolute_expires_at', '<=', now)]))
        .executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
