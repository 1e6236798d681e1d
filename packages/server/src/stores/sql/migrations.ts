import type { Kysely, Migration } from 'kysely';
import type { SqlFlavor } from './flavor.js';

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
  };
}
