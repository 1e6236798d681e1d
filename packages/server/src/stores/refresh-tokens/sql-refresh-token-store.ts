import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type RefreshTokensTable } from '../sql/schema.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../types.js';

function toRecord(row: Selectable<RefreshTokensTable>): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    createdAt: num(row.created_at),
    rotatedAt: numOrNull(row.rotated_at),
    clientId: row.client_id ?? null,
  };
}

/**
 * RefreshTokenStore over kysely. Rotation is a compare-and-swap inside one write transaction
 * (BEGIN IMMEDIATE on SQLite, a row lock with PostgreSQL), so concurrent refreshes of one token
 * leave exactly one current token. Rows go with their session (foreign key, on delete cascade).
 */
export class SqlRefreshTokenStore implements RefreshTokenStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

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

  rotate(oldHash: string, next: RefreshTokenRecord, now: number): Promise<'rotated' | 'already_rotated' | 'unknown'> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        // The conditional update is the compare-and-swap: only one caller can move rotated_at off null.
        const updated = await trx
          .updateTable('refresh_tokens')
          .set({ rotated_at: now })
          .where('token_hash', '=', oldHash)
          .where('rotated_at', 'is', null)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          const row = await trx.selectFrom('refresh_tokens').select('token_hash').where('token_hash', '=', oldHash).executeTakeFirst();
          return row ? 'already_rotated' : 'unknown';
        }
        // The successor keeps the session and the client of the token it replaces.
        const old = await trx.selectFrom('refresh_tokens').select(['session_id', 'client_id']).where('token_hash', '=', oldHash).executeTakeFirstOrThrow();
        await trx
          .insertInto('refresh_tokens')
          .values({ token_hash: next.tokenHash, session_id: old.session_id, created_at: next.createdAt, rotated_at: null, client_id: old.client_id ?? null })
          .execute();
        return 'rotated';
      }),
    );
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
