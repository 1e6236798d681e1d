import { sql, type CompiledQuery, type Insertable, type Kysely, type Selectable } from 'kysely';
import { usernameSkeleton } from '../../util/confusable-skeleton.js';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, numOrNull, type GatehouseDb, type UsersTable } from '../sql/schema.js';
import { NO_PASSWORD, UsernameTakenError, type UserDeletion, type UserPageKey, type UserRecord, type UserSearch, type UserStore, type UserSummary } from '../types.js';

function parseRoles(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/** The user columns `getWithUser` selects next to a session or token (never the password hash). */
export const USER_SUMMARY_COLUMNS = [
  'users.username as user_username',
  'users.username_canonical as user_username_canonical',
  'users.roles as user_roles',
  'users.created_at as user_created_at',
  'users.updated_at as user_updated_at',
  'users.disabled_at as user_disabled_at',
] as const;

/**
 * `getWithUser`'s query for a credential table (a row of it and its user's USER_SUMMARY_COLUMNS,
 * by token hash), compiled once: kysely's builder costs more than the read itself on SQLite
 * (~20 µs for this join), so the stores run it again with the new parameter.
 */
export function compileWithUser(db: Kysely<GatehouseDb>, table: 'sessions' | 'api_tokens'): CompiledQuery {
  return db
    .selectFrom(table)
    .innerJoin('users', 'users.id', `${table}.user_id`)
    .selectAll(table)
    .select(USER_SUMMARY_COLUMNS)
    .where(`${table}.token_hash`, '=', '')
    .compile();
}

/** What USER_SUMMARY_COLUMNS adds to a joined row. */
export interface UserSummaryColumns {
  user_username: string;
  user_username_canonical: string;
  user_roles: string;
  user_created_at: number;
  user_updated_at: number;
  user_disabled_at: number | null;
}

/** A joined row's user (USER_SUMMARY_COLUMNS, with the id from the row's own user_id). */
export function toUserSummary(row: UserSummaryColumns & { user_id: string }): UserSummary {
  return {
    id: row.user_id,
    username: row.user_username,
    usernameCanonical: row.user_username_canonical,
    roles: parseRoles(row.user_roles),
    createdAt: num(row.user_created_at),
    updatedAt: num(row.user_updated_at),
    disabledAt: numOrNull(row.user_disabled_at),
  };
}

function toRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    username: row.username,
    usernameCanonical: row.username_canonical,
    passwordHash: row.password_hash,
    roles: parseRoles(row.roles),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    disabledAt: numOrNull(row.disabled_at),
    passwordChangeRequired: num(row.password_change_required) === 1,
  };
}

/** The row of a new user (also inserted by the identity store's `createUserWithIdentity`). */
export function userRow(user: UserRecord): Insertable<UsersTable> {
  return {
    id: user.id,
    username: user.username,
    username_canonical: user.usernameCanonical,
    username_skeleton: usernameSkeleton(user.username),
    password_hash: user.passwordHash,
    roles: JSON.stringify(user.roles),
    created_at: user.createdAt,
    updated_at: user.updatedAt,
    disabled_at: user.disabledAt,
    password_change_required: user.passwordChangeRequired ? 1 : 0,
  };
}

/** A failed user insert's error: UsernameTakenError for the unique canonical name, else itself. */
export function usernameTakenOr(flavor: SqlFlavor, err: unknown): unknown {
  const c = flavor.classify(err);
  return c.kind === 'unique_violation' && c.constraint?.includes('username_canonical') ? new UsernameTakenError() : err;
}

/** UserStore over kysely; portable SQL, dialect bits from the flavor (SQLite by default). */
export class SqlUserStore implements UserStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'users', op);
  }

  create(user: UserRecord): Promise<void> {
    return this.run(async () => {
      try {
        await this.db
          .insertInto('users')
          .values(userRow(user))
          .execute();
      } catch (err) {
        throw usernameTakenOr(this.flavor, err);
      }
    });
  }

  findById(id: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  findByCanonical(usernameCanonical: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('users').selectAll().where('username_canonical', '=', usernameCanonical).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  findLookalike(username: string): Promise<UserRecord | null> {
    return this.run(async () => {
      const row = await this.db
        .selectFrom('users')
        .selectAll()
        .where('username_skeleton', '=', usernameSkeleton(username))
        .orderBy('created_at')
        .orderBy('id')
        .executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    return this.run(async () => {
      await this.db.updateTable('users').set({ password_hash: passwordHash, password_change_required: 0, updated_at: now }).where('id', '=', id).execute();
    });
  }

  setPasswordChangeRequired(id: string, required: boolean, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db.updateTable('users').set({ password_change_required: required ? 1 : 0, updated_at: now }).where('id', '=', id).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  setPasswordHashIfNone(id: string, passwordHash: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const r = await this.db
        .updateTable('users')
        .set({ password_hash: passwordHash, updated_at: now })
        .where('id', '=', id)
        .where('password_hash', '=', NO_PASSWORD)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  setRoles(id: string, roles: string[], now: number): Promise<void> {
    return this.run(async () => {
      await this.db.updateTable('users').set({ roles: JSON.stringify(roles), updated_at: now }).where('id', '=', id).execute();
    });
  }

  rename(id: string, username: string, usernameCanonical: string, now: number): Promise<boolean> {
    return this.run(async () => {
      try {
        const r = await this.db
          .updateTable('users')
          .set({ username, username_canonical: usernameCanonical, username_skeleton: usernameSkeleton(username), updated_at: now })
          .where('id', '=', id)
          .executeTakeFirst();
        return Number(r.numUpdatedRows) > 0;
      } catch (err) {
        throw usernameTakenOr(this.flavor, err);
      }
    });
  }

  list(): Promise<UserRecord[]> {
    return this.run(async () => {
      const rows = await this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toRecord);
    });
  }

  setDisabled(id: string, disabledAt: number | null, now: number): Promise<UserRecord | null> {
    return this.run(async () => {
      let q = this.db.updateTable('users').set({ disabled_at: disabledAt, updated_at: now }).where('id', '=', id);
      // Disabling again keeps the first time; enabling an enabled user writes nothing.
      q = disabledAt === null ? q.where('disabled_at', 'is not', null) : q.where('disabled_at', 'is', null);
      await q.execute();
      const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRecord(row) : null;
    });
  }

  delete(id: string, deletion: UserDeletion): Promise<UserRecord | null> {
    return this.run(() =>
      this.flavor.writeTransaction(this.db, async (trx) => {
        const row = await trx.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) return null;
        await trx
          .updateTable('audit_events')
          .set({ user_id: deletion.auditSubject, ip: null, device_id: null, user_agent: null, detail: null })
          .where('user_id', '=', id)
          .execute();
        // Other accounts' events that name the user in their detail (an admin's `admin.action`
        // target, a `by` of the deleted admin) name the pseudonym instead: otherwise an admin's
        // "users.delete" event would tie the real id to the pseudonym. Ids are whole JSON strings.
        const quoted = JSON.stringify(id);
        await trx
          .updateTable('audit_events')
          .set({ detail: sql<string>`replace(detail, ${quoted}, ${JSON.stringify(deletion.auditSubject)})` })
          .where(sql<boolean>`detail like ${`%${likeEscape(quoted)}%`} escape '\\'`)
          .execute();
        if (deletion.quarantineUntil !== null) {
          const until = deletion.quarantineUntil;
          await trx
            .insertInto('username_quarantine')
            .values({ username_canonical: row.username_canonical, skeleton: usernameSkeleton(row.username), until })
            .onConflict((oc) => oc.column('username_canonical').doUpdateSet({ skeleton: usernameSkeleton(row.username), until }))
            .execute();
        }
        // Explicitly, not only by the foreign keys' cascade: what is deleted does not depend on a
        // pragma. A session's refresh tokens go with it (cascade), explicitly first all the same.
        const sessionIds = trx.selectFrom('sessions').select('id').where('user_id', '=', id);
        await trx.deleteFrom('refresh_tokens').where('session_id', 'in', sessionIds).execute();
        for (const table of USER_TABLES) await trx.deleteFrom(table).where('user_id', '=', id).execute();
        await trx.deleteFrom('users').where('id', '=', id).execute();
        return toRecord(row);
      }),
    );
  }

  isQuarantined(usernameCanonical: string, username: string, now: number): Promise<boolean> {
    return this.run(async () => {
      const skeleton = usernameSkeleton(username);
      const row = await this.db
        .selectFrom('username_quarantine')
        .select('username_canonical')
        .where((eb) => eb.or([eb('username_canonical', '=', usernameCanonical), eb('skeleton', '=', skeleton)]))
        .where('until', '>', now)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  search(filter: UserSearch, page: { limit: number; after?: UserPageKey | null }): Promise<UserRecord[]> {
    return this.run(async () => {
      let q = this.db.selectFrom('users').selectAll();
      if (filter.prefix !== undefined && filter.prefix !== '') {
        q = q.where(sql<boolean>`username_canonical like ${`${likeEscape(filter.prefix)}%`} escape '\\'`);
        // SQLite never uses an index for LIKE (its LIKE ignores ASCII case; the index is BINARY):
        // the same prefix as a range of the unique index (BINARY order is code-point order, and no
        // canonical username holds U+10FFFF) spares a scan of every user (bench/admin-queries.mjs).
        // PostgreSQL answers the LIKE from users_username_pattern_idx (migration 0015).
        if (this.flavor.name === 'sqlite') q = q.where('username_canonical', '>=', filter.prefix).where('username_canonical', '<', `${filter.prefix}\u{10FFFF}`);
      }
      // Roles are a JSON array of strings; a role name holds no quote (checkRole), so `"role"` matches exactly one element.
      if (filter.role !== undefined) q = q.where(sql<boolean>`roles like ${`%${likeEscape(JSON.stringify(filter.role))}%`} escape '\\'`);
      if (filter.disabled !== undefined) q = q.where('disabled_at', filter.disabled ? 'is not' : 'is', null);
      if (filter.createdAfter !== undefined) q = q.where('created_at', '>=', filter.createdAfter);
      if (filter.createdBefore !== undefined) q = q.where('created_at', '<', filter.createdBefore);
      const after = page.after;
      // The plain bound lets an index range start at the cursor (see AuditStore.query).
      if (after) q = q.where('created_at', '<=', after.createdAt).where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
      const rows = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.max(0, Math.floor(page.limit))).execute();
      return rows.map(toRecord);
    });
  }
}

/** The tables holding rows of one user by `user_id` (besides the audit log, which keeps them pseudonymous). */
const USER_TABLES = [
  'sessions',
  'api_tokens',
  'identities',
  'totp_factors',
  'recovery_codes',
  'mfa_tickets',
  'webauthn_credentials',
  'webauthn_challenges',
  'device_codes',
  'user_emails',
  'email_tokens',
] as const;


/** `text` as a LIKE pattern that matches it literally (escape character: backslash). */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
