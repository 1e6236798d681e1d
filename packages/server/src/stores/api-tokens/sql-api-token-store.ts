import type { CompiledQuery, Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type ApiTokensTable, type GatehouseDb } from '../sql/schema.js';
import type { ApiTokenRecord, ApiTokenStore, UserSummary } from '../types.js';
import { compileWithUser, toUserSummary, type UserSummaryColumns } from '../users/sql-user-store.js';

function parseScopes(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

function toRecord(row: Selectable<ApiTokensTable>): ApiTokenRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    tokenHash: row.token_hash,
    scopes: parseScopes(row.scopes),
    createdAt: num(row.created_at),
    expiresAt: numOrNull(row.expires_at),
    lastUsedAt: numOrNull(row.last_used_at),
  };
}

/** ApiTokenStore over kysely. Only the SHA-256 of the token is stored; rows go with their user. */
export class SqlApiTokenStore implements ApiTokenStore {
  /** `getWithUser`'s join, compiled once (compileWithUser). */
  private readonly withUser: CompiledQuery;

  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {
    this.withUser = compileWithUser(db, 'api_tokens');
  }

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'API tokens', op);
  }

  create(t: ApiTokenRecord): Promise<void> {
    return this.run(async () => {
      await this.db
        .insertInto('api_tokens')
        .values({
          id: t.id,
          user_id: t.userId,
          name: t.name,
          token_hash: t.tokenHash,
          scopes: JSON.stringify(t.scopes),
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          last_used_at: t.lastUsedAt,
        })
        .execute();
    });
  }

  findByHash(tokenHash: string): Promise<ApiTokenRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  getWithUser(tokenHash: string): Promise<{ token: ApiTokenRecord; user: UserSummary } | null> {
    return this.run(async () => {
      const { rows } = await this.db.executeQuery<Selectable<ApiTokensTable> & UserSummaryColumns>({ ...this.withUser, parameters: [tokenHash] });
      const row = rows[0];
      return row ? { token: toRecord(row), user: toUserSummary(row) } : null;
    });
  }

  listByUser(userId: string): Promise<ApiTokenRecord[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('api_tokens')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      return rows.map(toRecord);
    });
  }

  delete(id: string, userId: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('api_tokens').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  touchLastUsed(id: string, at: number): Promise<void> {
    return this.run(async () => {
      await this.db
        .updateTable('api_tokens')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
        .execute();
    });
  }
}
