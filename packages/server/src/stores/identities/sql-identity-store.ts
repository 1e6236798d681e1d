import { sql, type Kysely, type Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, type GatehouseDb, type IdentitiesTable } from '../sql/schema.js';
import { IdentityTakenError, type IdentityRecord, type IdentityStore, type UserRecord } from '../types.js';
import { userRow, usernameTakenOr } from '../users/sql-user-store.js';

/** The form emails are compared in: trimmed and lower-cased (a provider's case is not to be trusted). */
export function canonicalEmail(email: string): string {
  return email.trim().toLowerCase();
}

function toRecord(row: Selectable<IdentitiesTable>): IdentityRecord {
  return {
    provider: row.provider,
    subject: row.subject,
    userId: row.user_id,
    email: row.email,
    emailVerified: num(row.email_verified) === 1,
    createdAt: num(row.created_at),
    lastUsedAt: num(row.last_used_at),
  };
}

function toRow(r: IdentityRecord): Selectable<IdentitiesTable> {
  return {
    provider: r.provider,
    subject: r.subject,
    user_id: r.userId,
    email: r.email,
    email_canonical: r.email === null ? null : canonicalEmail(r.email),
    email_verified: r.emailVerified ? 1 : 0,
    created_at: r.createdAt,
    last_used_at: r.lastUsedAt,
  };
}

/** IdentityStore over kysely: (provider, subject) is the primary key; rows go with their user. */
export class SqlIdentityStore implements IdentityStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'identities', op);
  }

  findBySubject(provider: string, subject: string): Promise<IdentityRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('identities').selectAll().where('provider', '=', provider).where('subject', '=', subject).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  listForUser(userId: string): Promise<IdentityRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('identities').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('provider').orderBy('subject').execute();
      return rows.map(toRecord);
    });
  }

  listByVerifiedEmail(email: string): Promise<IdentityRecord[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('identities')
        .selectAll()
        .where('email_canonical', '=', canonicalEmail(email))
        .where('email_verified', '=', 1)
        .orderBy('created_at')
        .orderBy('provider')
        .orderBy('subject')
        .execute();
      return rows.map(toRecord);
    });
  }

  /** Inserts unless (provider, subject) exists; then 'already' for the same user, IdentityTakenError for another. */
  private async insertOnce(db: Kysely<GatehouseDb>, record: IdentityRecord): Promise<'linked' | 'already'> {
    const r = await db
      .insertInto('identities')
      .values(toRow(record))
      .onConflict((oc) => oc.columns(['provider', 'subject']).doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) > 0) return 'linked';
    const owner = await db.selectFrom('identities').select('user_id').where('provider', '=', record.provider).where('subject', '=', record.subject).executeTakeFirst();
    // Gone again between the two statements (unlinked): the caller may try again; say taken by nobody.
    if (owner === undefined) throw new IdentityTakenError('');
    if (owner.user_id !== record.userId) throw new IdentityTakenError(owner.user_id);
    return 'already';
  }

  link(record: IdentityRecord): Promise<'linked' | 'already'> {
    return this.run(() => this.flavor.writeTransaction(this.db, (trx) => this.insertOnce(trx, record)));
  }

  createUserWithIdentity(user: UserRecord, identity: IdentityRecord): Promise<void> {
    if (identity.userId !== user.id) throw new Error('createUserWithIdentity: the identity must name the new user');
    return this.run(async () => {
      try {
        await this.flavor.writeTransaction(this.db, async (trx) => {
          await trx.insertInto('users').values(userRow(user)).execute();
          if ((await this.insertOnce(trx, identity)) !== 'linked') throw new IdentityTakenError(user.id);
        });
      } catch (err) {
        if (err instanceof IdentityTakenError) throw err;
        throw usernameTakenOr(this.flavor, err);
      }
    });
  }

  unlink(userId: string, provider: string, subject: string, options: { keepOne: boolean }): Promise<'unlinked' | 'not_found' | 'last'> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const mine = await trx.selectFrom('identities').select(['provider', 'subject']).where('user_id', '=', userId).execute();
        if (!mine.some((m) => m.provider === provider && m.subject === subject)) return 'not_found';
        if (options.keepOne && mine.length <= 1) return 'last';
        await trx.deleteFrom('identities').where('provider', '=', provider).where('subject', '=', subject).where('user_id', '=', userId).execute();
        return 'unlinked';
      }),
    );
  }

  touch(provider: string, subject: string, at: number, email: { email: string | null; emailVerified: boolean }): Promise<void> {
    return this.run(async () => {
      await this.db
        .updateTable('identities')
        .set({
          // Portable max (SQLite has no GREATEST, PostgreSQL no two-argument max).
          last_used_at: sql<number>`case when last_used_at < ${at} then ${at} else last_used_at end`,
          email: email.email,
          email_canonical: email.email === null ? null : canonicalEmail(email.email),
          email_verified: email.emailVerified ? 1 : 0,
        })
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .execute();
    });
  }
}
