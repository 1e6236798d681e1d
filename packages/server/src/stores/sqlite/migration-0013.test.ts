import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../util/clock.js';
import { gatehouseMigrations } from '../sql/migrations.js';
import type { GatehouseDb } from '../sql/schema.js';
import { openSqliteStores } from './open-sqlite-stores.js';
import { sqliteFlavor } from './sqlite-flavor.js';

/*
 * Migration 0013 on an SQLite file with data from before it: the audit log is rebuilt without its
 * foreign key to users (SQLite cannot drop one), keeping every row, its seq order and its indexes,
 * so a deleted user's events can stay under a pseudonym; users gain disabled_at (null).
 */

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

class Provider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return gatehouseMigrations(sqliteFlavor);
  }
}

describe('migration 0013 on SQLite with data', () => {
  it('keeps every audit row and its order, drops the foreign key, keeps the indexes; users are enabled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-0013-'));
    dirs.push(dir);
    const file = join(dir, 'gatehouse.db');
    const handle = new Database(file);
    handle.pragma('foreign_keys = ON');
    const db = new Kysely<GatehouseDb>({ dialect: new SqliteDialect({ database: handle }) });
    const to12 = await new Migrator({ db, provider: new Provider() }).migrateTo('0012_webauthn');
    expect(to12.error).toBeUndefined();
    await db.insertInto('users').values({ id: 'u1', username: 'old', username_canonical: 'old', username_skeleton: 'old', password_hash: '!', roles: '[]', created_at: 1, updated_at: 1 } as never).execute();
    for (let i = 0; i < 3; i++) {
      await db.insertInto('audit_events').values({ id: `e${i}`, user_id: 'u1', type: 'signin.success', at: 100, ip: '192.0.2.1', device_id: null, user_agent: null, detail: null }).execute();
    }
    expect((handle.prepare(`select "table" from pragma_foreign_key_list('audit_events')`).all() as unknown[]).length).toBe(1);
    await db.destroy();

    const stores = await openSqliteStores({ file, clock: new ManualClock() });
    try {
      expect((await stores.users.findById('u1'))?.disabledAt).toBeNull();
      // Same `at`: the later append first, by seq, as before.
      expect((await stores.audit.listByUser('u1', 10)).map((e) => e.id)).toEqual(['e2', 'e1', 'e0']);
      await stores.audit.append({ id: 'e3', userId: 'u1', type: 'signout', at: 100, ip: null, deviceId: null, userAgent: null, detail: null });
      expect((await stores.audit.listByUser('u1', 1)).map((e) => e.id)).toEqual(['e3']);
      expect(await stores.users.delete('u1', { auditSubject: 'deleted:x', quarantineUntil: null })).not.toBeNull();
      expect(await stores.audit.listByUser('deleted:x', 10)).toHaveLength(4);
    } finally {
      await stores.close();
    }
    const after = new Database(file, { readonly: true });
    try {
      expect(after.prepare(`select "table" from pragma_foreign_key_list('audit_events')`).all()).toEqual([]);
      const indexes = (after.prepare(`select name from pragma_index_list('audit_events')`).all() as Array<{ name: string }>).map((r) => r.name);
      expect(indexes).toEqual(expect.arrayContaining(['audit_events_user_at_idx', 'audit_events_at_idx']));
      expect(after.prepare(`select name from sqlite_master where name = 'audit_events_0013'`).all()).toEqual([]);
    } finally {
      after.close();
    }
  });
});
