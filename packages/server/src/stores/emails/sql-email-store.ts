import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type EmailTokensTable, type GatehouseDb, type UserEmailsTable } from '../sql/schema.js';
import { canonicalEmail, type EmailStore, type EmailTokenPurpose, type EmailTokenRecord, type UserEmailRecord } from '../types.js';

function toEmail(row: Selectable<UserEmailsTable>): UserEmailRecord {
  return { userId: row.user_id, address: row.address, createdAt: num(row.created_at), verifiedAt: numOrNull(row.verified_at) };
}

function toToken(row: Selectable<EmailTokensTable>): EmailTokenRecord {
  return {
    tokenHash: row.token_hash,
    userId: row.user_id,
    purpose: row.purpose === 'verify' ? 'verify' : 'reset',
    address: row.address,
    createdAt: num(row.created_at),
    expiresAt: num(row.expires_at),
    usedAt: numOrNull(row.used_at),
  };
}

/**
 * EmailStore over kysely (SQLite and PostgreSQL alike). A token is taken by one conditional
 * UPDATE whose WHERE holds the state it expects (unused, unexpired, of its purpose), so of two
 * instances using one link at once exactly one updates the row.
 */
export class SqlEmailStore implements EmailStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'emails', op);
  }

  get(userId: string): Promise<UserEmailRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('user_emails').selectAll().where('user_id', '=', userId).executeTakeFirst();
      return row ? toEmail(row) : null;
    });
  }

  set(userId: string, address: string, now: number): Promise<UserEmailRecord> {
    const trimmed = address.trim();
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        await trx.deleteFrom('user_emails').where('user_id', '=', userId).execute();
        await trx
          .insertInto('user_emails')
          .values({ user_id: userId, address: trimmed, address_canonical: canonicalEmail(trimmed), created_at: now, verified_at: null })
          .execute();
        return { userId, address: trimmed, createdAt: now, verifiedAt: null };
      }),
    );
  }

  markVerified(userId: string, address: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('user_emails')
        .set({ verified_at: now })
        .where('user_id', '=', userId)
        .where('address_canonical', '=', canonicalEmail(address))
        .where('verified_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  remove(userId: string): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('user_emails').where('user_id', '=', userId).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  usersWithVerifiedAddress(address: string, limit: number): Promise<string[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('user_emails')
        .select(['user_id'])
        .where('address_canonical', '=', canonicalEmail(address))
        .where('verified_at', 'is not', null)
        .orderBy('verified_at')
        .orderBy('user_id')
        .limit(limit)
        .execute();
      return rows.map((r) => r.user_id);
    });
  }

  createToken(t: EmailTokenRecord): Promise<void> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        await trx.deleteFrom('email_tokens').where('user_id', '=', t.userId).where('purpose', '=', t.purpose).execute();
        await trx
          .insertInto('email_tokens')
          .values({
            token_hash: t.tokenHash,
            user_id: t.userId,
            purpose: t.purpose,
            address: t.address,
            created_at: t.createdAt,
            expires_at: t.expiresAt,
            used_at: t.usedAt,
          })
          .execute();
      }),
    );
  }

  useToken(tokenHash: string, purpose: EmailTokenPurpose, now: number): Promise<EmailTokenRecord | null> {
    return this.run(async () => {
      const row = await this.db
        .updateTable('email_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? toToken(row) : null;
    });
  }

  findToken(tokenHash: string): Promise<EmailTokenRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('email_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toToken(row) : null;
    });
  }

  deleteTokens(userId: string, purpose?: EmailTokenPurpose): Promise<number> {
    return this.run(async () => {
      let q = this.db.deleteFrom('email_tokens').where('user_id', '=', userId);
      if (purpose !== undefined) q = q.where('purpose', '=', purpose);
      const r = await q.executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }

  deleteExpiredTokens(before: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('email_tokens').where('expires_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
