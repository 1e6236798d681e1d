import { sql, type Kysely, type Migration } from 'kysely';
import { usernameSkeleton } from '../../util/confusable-skeleton.js';
import type { SqlFlavor } from './flavor.js';
import type { GatehouseDb } from './schema.js';

/**
 * The schema, as kysely migrations shared by every SQL backend. Only portable types are used
 * (text, bigint, integer); the auto-increment key comes from the flavor. Every step is
 * idempotent (`if not exists`) so instances starting together cannot trip over each other.
 * Never edit a released migration: add a new one.
 */
export function gatehouseMigrations(flavor: SqlFlavor): Record<string, Migration> {
  return {
    '0001_initial': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('users')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('username_canonical', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('roles', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('users_username_canonical_key').ifNotExists().unique().on('users').column('username_canonical').execute();

        await db.schema
          .createTable('sessions')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('device_id', 'text', (c) => c.notNull())
          .addColumn('device_name', 'text')
          .addColumn('csrf_token', 'text', (c) => c.notNull())
          .addColumn('persistent', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('absolute_expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_token_hash_key').ifNotExists().unique().on('sessions').column('token_hash').execute();
        await db.schema.createIndex('sessions_user_device_idx').ifNotExists().on('sessions').columns(['user_id', 'device_id']).execute();
        await db.schema.createIndex('sessions_expires_at_idx').ifNotExists().on('sessions').column('expires_at').execute();

        await db.schema
          .createTable('signing_keys')
          .ifNotExists()
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('alg', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('private_jwe', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('activates_at', 'bigint', (c) => c.notNull())
          .addColumn('retires_at', 'bigint')
          .addColumn('expires_at', 'bigint')
          .execute();

        await db.schema
          .createTable('revocations')
          .ifNotExists()
          .addColumn('seq', flavor.autoIncrementPk.type, (c) => flavor.autoIncrementPk.build(c))
          .addColumn('event', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('keep_until', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('revocations_at_idx').ifNotExists().on('revocations').column('at').execute();
        await db.schema.createIndex('revocations_keep_until_idx').ifNotExists().on('revocations').column('keep_until').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const t of ['revocations', 'signing_keys', 'sessions', 'users']) await db.schema.dropTable(t).ifExists().execute();
      },
    },
    '0002_bearer_credentials': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The scopes granted to a token session (password grant); null for browser sessions.
        await addColumnIfMissing(db, 'sessions', 'scope', 'text');

        await db.schema
          .createTable('refresh_tokens')
          .ifNotExists()
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('session_id', 'text', (c) => c.notNull().references('sessions.id').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('rotated_at', 'bigint')
          .execute();
        await db.schema.createIndex('refresh_tokens_session_idx').ifNotExists().on('refresh_tokens').column('session_id').execute();

        await db.schema
          .createTable('api_tokens')
          .ifNotExists()
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint')
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_tokens_token_hash_key').ifNotExists().unique().on('api_tokens').column('token_hash').execute();
        await db.schema.createIndex('api_tokens_user_idx').ifNotExists().on('api_tokens').column('user_id').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const t of ['api_tokens', 'refresh_tokens']) await db.schema.dropTable(t).ifExists().execute();
        await db.schema.alterTable('sessions').dropColumn('scope').execute();
      },
    },
    '0003_audit_events': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The security event log (account activity). Never a secret in any column.
        await db.schema
          .createTable('audit_events')
          .ifNotExists()
          .addColumn('seq', flavor.autoIncrementPk.type, (c) => flavor.autoIncrementPk.build(c))
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('ip', 'text')
          .addColumn('device_id', 'text')
          .addColumn('user_agent', 'text')
          .addColumn('detail', 'text')
          .execute();
        await db.schema.createIndex('audit_events_user_at_idx').ifNotExists().on('audit_events').columns(['user_id', 'at']).execute();
        await db.schema.createIndex('audit_events_at_idx').ifNotExists().on('audit_events').column('at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('audit_events').ifExists().execute();
      },
    },
    '0004_username_skeleton': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The look-alike key of each username (UTS #39 skeleton), so sign-up refuses "аdmin"
        // (Cyrillic а) beside "admin" with one indexed lookup. Not unique: names that collide
        // may already exist; only new ones are checked. Rows from before are filled in here.
        await addColumnIfMissing(db, 'users', 'username_skeleton', 'text');
        const users = db as unknown as Kysely<GatehouseDb>;
        const rows = await users.selectFrom('users').select(['id', 'username_canonical']).where('username_skeleton', 'is', null).execute();
        for (const r of rows) {
          await users.updateTable('users').set({ username_skeleton: usernameSkeleton(r.username_canonical) }).where('id', '=', r.id).execute();
        }
        await db.schema.createIndex('users_username_skeleton_idx').ifNotExists().on('users').column('username_skeleton').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropIndex('users_username_skeleton_idx').ifExists().execute();
        await db.schema.alterTable('users').dropColumn('username_skeleton').execute();
      },
    },
    '0005_username_skeleton_as_shown': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The look-alike key now reads a capital "I" as the "l" it looks like and drops a dot
        // above "i" (util/confusable-skeleton.ts): recomputed for every user, from the name as typed.
        const users = db as unknown as Kysely<GatehouseDb>;
        const rows = await users.selectFrom('users').select(['id', 'username', 'username_skeleton']).execute();
        for (const r of rows) {
          const key = usernameSkeleton(r.username);
          if (key !== r.username_skeleton) await users.updateTable('users').set({ username_skeleton: key }).where('id', '=', r.id).execute();
        }
      },
      async down(): Promise<void> {
        // The keys of 0004 are a subset of what this one refuses; nothing to undo.
      },
    },
    '0006_oauth_clients': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The registry of OAuth clients (issue 14). Secrets are held as SHA-256 hashes only.
        await db.schema
          .createTable('oauth_clients')
          .ifNotExists()
          .addColumn('client_id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('grants', 'text', (c) => c.notNull())
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('audiences', 'text', (c) => c.notNull())
          .addColumn('service', 'text')
          .addColumn('secrets', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('oauth_clients').ifExists().execute();
      },
    },
    '0007_device_codes': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Device authorization requests (RFC 8628, issue 14 §2): the device code is held as a SHA-256 hash only.
        await db.schema
          .createTable('device_codes')
          .ifNotExists()
          .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_code', 'text', (c) => c.notNull())
          .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.client_id').onDelete('cascade'))
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('device_name', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('interval_sec', 'integer', (c) => c.notNull())
          .addColumn('last_poll_at', 'bigint')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
          .execute();
        await db.schema.createIndex('device_codes_user_code_key').ifNotExists().unique().on('device_codes').column('user_code').execute();
        await db.schema.createIndex('device_codes_expires_at_idx').ifNotExists().on('device_codes').column('expires_at').execute();
        // The client a refresh token was issued to (a device-flow session); null: the first-party client.
        await addColumnIfMissing(db, 'refresh_tokens', 'client_id', 'text');
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('device_codes').ifExists().execute();
      },
    },
    '0008_client_service': {
      async up(db: Kysely<unknown>): Promise<void> {
        // A confidential client's own service: the audience of the passports it receives, which
        // token exchange requires of its subject passport (issue 14 §4), changed by
        // `gatehouse clients update --service`. 0006 as released creates the column already; this
        // step adds it where it is missing, and gives every confidential client stored without one
        // its default, the client id, so the column alone says whose passports a client receives.
        // Needs nothing of 0007: it applies on its own.
        await addColumnIfMissing(db, 'oauth_clients', 'service', 'text');
        const clients = db as unknown as Kysely<GatehouseDb>;
        await clients
          .updateTable('oauth_clients')
          .set((eb) => ({ service: eb.ref('client_id') }))
          .where('type', '=', 'confidential')
          .where('service', 'is', null)
          .execute();
      },
      async down(): Promise<void> {
        // The column belongs to 0006; a filled-in default is what the code assumed anyway.
      },
    },
    '0009_identities': {
      async up(db: Kysely<unknown>): Promise<void> {
        // External identities (issue 15): (provider, subject) -> one user; they go with their
        // user. A user created through a provider has the NO_PASSWORD marker as its hash (the
        // column stays not null). The email is kept as given and in a trimmed, lower-cased form
        // for linking by a verified email.
        await db.schema
          .createTable('identities')
          .ifNotExists()
          .addColumn('provider', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('email', 'text')
          .addColumn('email_canonical', 'text')
          .addColumn('email_verified', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('identities_pkey', ['provider', 'subject'])
          .execute();
        await db.schema.createIndex('identities_user_idx').ifNotExists().on('identities').column('user_id').execute();
        await db.schema.createIndex('identities_email_idx').ifNotExists().on('identities').column('email_canonical').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('identities').ifExists().execute();
      },
    },
    '0010_session_amr': {
      async up(db: Kysely<unknown>): Promise<void> {
        // How the session's user proved who they are (issue 17): `amr`, RFC 8176 method names
        // separated by single spaces (`pwd`, `pwd otp mfa`, `hwk user mfa`), and `auth_time`
        // (ms), the last time they did (a sign-in, or a re-authentication on the same session).
        // Sessions from before have only ever seen a password: `pwd`, authenticated at creation.
        await addColumnIfMissing(db, 'sessions', 'amr', 'text');
        await addColumnIfMissing(db, 'sessions', 'auth_time', 'bigint');
        // A device authorization (RFC 8628) records how the approving session had signed in: the
        // device's session starts with it (null: approved before this, read as a password).
        await addColumnIfMissing(db, 'device_codes', 'approved_amr', 'text');
        await addColumnIfMissing(db, 'device_codes', 'approved_auth_time', 'bigint');
        const sessions = db as unknown as Kysely<GatehouseDb>;
        await sessions.updateTable('sessions').set({ amr: 'pwd' }).where('amr', 'is', null).execute();
        await sessions
          .updateTable('sessions')
          .set((eb) => ({ auth_time: eb.ref('created_at') }))
          .where('auth_time', 'is', null)
          .execute();
      },
      async down(): Promise<void> {
        // Columns are only added; a dropped column would lose what later code relies on.
      },
    },
    '0011_mfa': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Second factors (issue 17). The TOTP secret only as a JWE under a key derived from the
        // master key; last_step: the last accepted time step (replay refusal by one conditional
        // UPDATE). Recovery codes and MFA tickets as SHA-256 hashes only; used_at taken by CAS.
        // Needs nothing of 0010 or 0012: new tables only.
        await db.schema
          .createTable('totp_factors')
          .ifNotExists()
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
          .addColumn('secret_jwe', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('confirmed_at', 'bigint')
          .addColumn('last_step', 'bigint')
          .execute();
        await db.schema
          .createTable('recovery_codes')
          .ifNotExists()
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('code_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .addPrimaryKeyConstraint('recovery_codes_pkey', ['user_id', 'code_hash'])
          .execute();
        await db.schema
          .createTable('mfa_tickets')
          .ifNotExists()
          .addColumn('ticket_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('via', 'text', (c) => c.notNull())
          .addColumn('device_id', 'text')
          .addColumn('device_name', 'text')
          .addColumn('persistent', 'integer', (c) => c.notNull())
          .addColumn('client_id', 'text')
          .addColumn('scope', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.createIndex('mfa_tickets_expires_at_idx').ifNotExists().on('mfa_tickets').column('expires_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const t of ['mfa_tickets', 'recovery_codes', 'totp_factors']) await db.schema.dropTable(t).ifExists().execute();
      },
    },
    '0012_webauthn': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Passkeys (issue 17): public keys only, so nothing here is secret. Challenges live here
        // (not in one process's memory) so any instance can finish a ceremony another began,
        // and `used_at` makes each good once (compare-and-swap). New tables only: independent
        // of 0010 and 0011.
        await db.schema
          .createTable('webauthn_credentials')
          .ifNotExists()
          .addColumn('credential_id', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('public_key', 'text', (c) => c.notNull())
          .addColumn('counter', 'bigint', (c) => c.notNull())
          .addColumn('transports', 'text', (c) => c.notNull())
          .addColumn('device_type', 'text', (c) => c.notNull())
          .addColumn('backed_up', 'integer', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .execute();
        await db.schema.createIndex('webauthn_credentials_user_idx').ifNotExists().on('webauthn_credentials').column('user_id').execute();
        await db.schema
          .createTable('webauthn_challenges')
          .ifNotExists()
          .addColumn('challenge_hash', 'text', (c) => c.primaryKey())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.createIndex('webauthn_challenges_expires_at_idx').ifNotExists().on('webauthn_challenges').column('expires_at').execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const t of ['webauthn_challenges', 'webauthn_credentials']) await db.schema.dropTable(t).ifExists().execute();
      },
    },
    '0013_account_lifecycle': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Issue 18: an account an admin disabled (ms; null: enabled), and the usernames of deleted
        // accounts held back from sign-up and rename for `users.deletedUsernameQuarantineDays`
        // (by canonical name and by look-alike skeleton). Independent of 0014 and 0015.
        await addColumnIfMissing(db, 'users', 'disabled_at', 'bigint');
        await db.schema
          .createTable('username_quarantine')
          .ifNotExists()
          .addColumn('username_canonical', 'text', (c) => c.primaryKey())
          .addColumn('skeleton', 'text', (c) => c.notNull())
          .addColumn('until', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('username_quarantine_skeleton_idx').ifNotExists().on('username_quarantine').column('skeleton').execute();
        // A deleted account's events stay, pseudonymous (`deleted:<pseudonym>`, docs/data-deletion.md):
        // the audit log no longer references users (0003 made it cascade with the user).
        await dropAuditUserForeignKey(db, flavor);
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('username_quarantine').ifExists().execute();
        // disabled_at and the dropped foreign key stay: pseudonymous events would violate it.
      },
    },
    '0014_email': {
      async up(db: Kysely<unknown>): Promise<void> {
        // Issue 18: one email address per user (it counts once verified_at is set) and the
        // single-use email tokens (verify an address, reset a password), SHA-256 at rest only;
        // used_at taken by one conditional UPDATE. password_change_required: an admin asked the
        // user to choose a new password at the next sign-in. New tables and a column only:
        // independent of 0013 and 0015.
        await db.schema
          .createTable('user_emails')
          .ifNotExists()
          .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('address_canonical', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('verified_at', 'bigint')
          .execute();
        await db.schema.createIndex('user_emails_address_idx').ifNotExists().on('user_emails').column('address_canonical').execute();
        await db.schema
          .createTable('email_tokens')
          .ifNotExists()
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('address', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('used_at', 'bigint')
          .execute();
        await db.schema.createIndex('email_tokens_user_idx').ifNotExists().on('email_tokens').columns(['user_id', 'purpose']).execute();
        await db.schema.createIndex('email_tokens_expires_at_idx').ifNotExists().on('email_tokens').column('expires_at').execute();
        const tables = await db.introspection.getTables();
        if (!tables.find((t) => t.name === 'users')?.columns.some((c) => c.name === 'password_change_required')) {
          await db.schema.alterTable('users').addColumn('password_change_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        }
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const t of ['email_tokens', 'user_emails']) await db.schema.dropTable(t).ifExists().execute();
      },
    },
    '0015_admin': {
      async up(db: Kysely<unknown>): Promise<void> {
        // The admin API's keyset pages (issue 18): the audit log across users newest first by
        // (at, seq), narrowed by type or by client address (sign-ins from one IP); the user
        // list newest first by (created_at, id). Indexes only: nothing to fill in.
        await db.schema.createIndex('audit_events_at_seq_idx').ifNotExists().on('audit_events').columns(['at', 'seq']).execute();
        await db.schema.createIndex('audit_events_type_at_idx').ifNotExists().on('audit_events').columns(['type', 'at', 'seq']).execute();
        await db.schema.createIndex('audit_events_ip_at_idx').ifNotExists().on('audit_events').columns(['ip', 'at', 'seq']).execute();
        await db.schema.createIndex('users_created_at_id_idx').ifNotExists().on('users').columns(['created_at', 'id']).execute();
        // Sign-ins of one device across users; and, on PostgreSQL, the username-prefix search
        // (LIKE 'p%' uses a text_pattern_ops index whatever the database's collation; SQLite
        // searches the unique index by range instead). Without them both read every row: 59 and
        // 188 ms for a device among 1 M events, 20 and 10 ms for a prefix among 100 k users
        // (bench/admin-queries.mjs, SQLite and PostgreSQL).
        await db.schema.createIndex('audit_events_device_at_idx').ifNotExists().on('audit_events').columns(['device_id', 'at', 'seq']).execute();
        if (flavor.name === 'postgres') {
          await sql`create index if not exists users_username_pattern_idx on users (username_canonical text_pattern_ops)`.execute(db);
        }
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const i of ['audit_events_at_seq_idx', 'audit_events_type_at_idx', 'audit_events_ip_at_idx', 'users_created_at_id_idx', 'audit_events_device_at_idx', 'users_username_pattern_idx']) {
          await db.schema.dropIndex(i).ifExists().execute();
        }
      },
    },
  };
}

/** `alter table add column`, skipped when the column exists (no dialect has a portable `if not exists` here). */
async function addColumnIfMissing(db: Kysely<unknown>, table: string, column: string, type: 'text' | 'bigint'): Promise<void> {
  const tables = await db.introspection.getTables();
  const existing = tables.find((t) => t.name === table);
  if (existing?.columns.some((c) => c.name === column)) return;
  await db.schema.alterTable(table).addColumn(column, type).execute();
}

/**
 * Drops the foreign key of audit_events.user_id (idempotent). PostgreSQL: by the constraint's
 * name, read from the catalogue. SQLite cannot drop a constraint: the table is rebuilt without
 * it (same columns, rows, sequence and indexes), inside the migration's transaction.
 */
async function dropAuditUserForeignKey(db: Kysely<unknown>, flavor: SqlFlavor): Promise<void> {
  if (flavor.name === 'postgres') {
    const { rows } = await sql<{ conname: string }>`select conname from pg_constraint where conrelid = 'audit_events'::regclass and contype = 'f'`.execute(db);
    for (const r of rows) await sql`alter table audit_events drop constraint if exists ${sql.id(r.conname)}`.execute(db);
    return;
  }
  const { rows } = await sql<{ table: string }>`select "table" from pragma_foreign_key_list('audit_events')`.execute(db);
  if (rows.length === 0) return;
  await db.schema.dropTable('audit_events_0013').ifExists().execute();
  await db.schema
    .createTable('audit_events_0013')
    .addColumn('seq', flavor.autoIncrementPk.type, (c) => flavor.autoIncrementPk.build(c))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'text')
    .addColumn('device_id', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('detail', 'text')
    .execute();
  await sql`insert into audit_events_0013 (seq, id, user_id, type, at, ip, device_id, user_agent, detail)
    select seq, id, user_id, type, at, ip, device_id, user_agent, detail from audit_events`.execute(db);
  await db.schema.dropTable('audit_events').execute();
  await sql`alter table audit_events_0013 rename to audit_events`.execute(db);
  await db.schema.createIndex('audit_events_user_at_idx').ifNotExists().on('audit_events').columns(['user_id', 'at']).execute();
  await db.schema.createIndex('audit_events_at_idx').ifNotExists().on('audit_events').column('at').execute();
}
