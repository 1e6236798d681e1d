import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../errors/index.js';
import { ManualClock } from '../../util/clock.js';
import { makeSession, makeUser } from '../contract/fixtures.test-helpers.js';
import { runStoreContracts } from '../contract/index.test-helpers.js';
import { guard } from '../sql/flavor.js';
import { gatehouseMigrations } from '../sql/migrations.js';
import { UsernameTakenError, type Stores } from '../types.js';
import { openSqliteStores } from './open-sqlite-stores.js';
import { openSqliteDatabase } from './database.js';
import { sqliteFlavor } from './sqlite-flavor.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const clock = new ManualClock();
const fileOf = new WeakMap<Stores, string>();
let n = 0;

async function open(file: string): Promise<Stores> {
  const stores = await openSqliteStores({ file, clock });
  fileOf.set(stores, file);
  return stores;
}

runStoreContracts('SQLite', () => open(join(root, `contract-${++n}`, 'gatehouse.db')), {
  async reopen(stores) {
    await stores.close();
    return open(fileOf.get(stores)!);
  },
  async rawBytes(stores) {
    const file = fileOf.get(stores)!;
    return Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  },
});

describe('openSqliteStores', () => {
  it('creates the directory and a 0600 file, and describes every store by its absolute path', async () => {
    const file = join(root, 'nested', 'deeper', 'gatehouse.db');
    const stores = await open(file);
    try {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const label = `SQLite ${file}`;
      expect(stores.describe).toEqual({
        users: label,
        sessions: label,
        keys: label,
        revocations: label,
        refreshTokens: label,
        apiTokens: label,
        clients: label,
        deviceCodes: label,
        identities: label,
        rateLimits: 'memory',
        audit: label,
        mfa: label,
      });
      expect(await stores.ready()).toEqual({
        users: true,
        sessions: true,
        keys: true,
        revocations: true,
        refreshTokens: true,
        apiTokens: true,
        clients: true,
        deviceCodes: true,
        identities: true,
        rateLimits: true,
        audit: true,
        mfa: true,
      });
    } finally {
      await stores.close();
    }
  });

  it('resolves a relative path', async () => {
    const stores = await openSqliteStores({ file: relative(process.cwd(), join(root, 'rel', 'gatehouse.db')), clock });
    try {
      expect(stores.describe.users).toBe(`SQLite ${join(root, 'rel', 'gatehouse.db')}`);
    } finally {
      await stores.close();
    }
  });

  it('uses WAL, foreign keys and runs migrations once: reopening is harmless', async () => {
    const file = join(root, 'reopen', 'gatehouse.db');
    for (let i = 0; i < 3; i++) await (await open(file)).close();
    const stores = await open(file);
    try {
      expect(existsSync(`${file}-wal`)).toBe(true);
      // Foreign keys on: a session of an unknown user is refused.
      await expect(stores.sessions.createReplacingDevice(makeSession('no-such-user'))).rejects.toThrow();
    } finally {
      await stores.close();
    }
  });

  it('migrations 0004 and 0005 fill in the look-alike key of users created before them', async () => {
    const file = join(root, 'upgrade-0004', 'gatehouse.db');
    const before = Object.fromEntries(Object.entries(gatehouseMigrations(sqliteFlavor)).filter(([name]) => name < '0004'));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    const provider = { getMigrations: async (): Promise<Record<string, Migration>> => before };
    expect((await new Migrator({ db, provider }).migrateToLatest()).error).toBeUndefined();
    const old = makeUser({ username: 'Admin', usernameCanonical: 'admin' });
    await db
      .insertInto('users')
      .values({ id: old.id, username: old.username, username_canonical: 'admin', password_hash: old.passwordHash, roles: '[]', created_at: old.createdAt, updated_at: old.updatedAt })
      .execute();
    // Shown "AIex": migration 0005 keys it as "alex" (a capital I reads as l), not by its canonical "aiex".
    const shown = makeUser({ username: 'AIex', usernameCanonical: 'aiex' });
    await db
      .insertInto('users')
      .values({ id: shown.id, username: shown.username, username_canonical: 'aiex', password_hash: shown.passwordHash, roles: '[]', created_at: shown.createdAt, updated_at: shown.updatedAt })
      .execute();
    await db.destroy();
    const stores = await open(file);
    try {
      expect(await stores.users.findLookalike('\u0430dmin')).toEqual(old);
      expect(await stores.users.findLookalike('alex')).toEqual(shown);
    } finally {
      await stores.close();
    }
  });

  it('migration 0008 gives a confidential client stored without a service its client id, on its own (without 0007)', async () => {
    const file = join(root, 'upgrade-0008', 'gatehouse.db');
    const before = Object.fromEntries(Object.entries(gatehouseMigrations(sqliteFlavor)).filter(([name]) => name < '0007'));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    const provider = { getMigrations: async (): Promise<Record<string, Migration>> => before };
    expect((await new Migrator({ db, provider }).migrateToLatest()).error).toBeUndefined();
    const row = (clientId: string, type: string, service: string | null): Record<string, unknown> => ({
      client_id: clientId, name: clientId, type, grants: '["token-exchange"]', scopes: '["notes:read"]', audiences: '["notes"]', service, secrets: '[]', created_at: 1, updated_at: 1, last_used_at: null,
    });
    await db.insertInto('oauth_clients').values([row('legacy', 'confidential', null), row('moved', 'confidential', 'orders'), row('tv', 'public', null)]).execute();
    await db.destroy();
    // Only 0008 is missing from the ones after 0006 (0007 comes from elsewhere): it must apply alone.
    const only0008 = Object.fromEntries(Object.entries(gatehouseMigrations(sqliteFlavor)).filter(([name]) => name < '0007' || name.startsWith('0008')));
    const db2 = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    expect((await new Migrator({ db: db2, provider: { getMigrations: async () => only0008 } }).migrateToLatest()).error).toBeUndefined();
    try {
      // Read raw: opening the stores would also run 0007, which this test leaves out on purpose.
      const rows = await db2.selectFrom('oauth_clients').select(['client_id', 'service']).orderBy('client_id').execute();
      expect(rows).toEqual([
        { client_id: 'legacy', service: 'legacy' },
        { client_id: 'moved', service: 'orders' },
        { client_id: 'tv', service: null },
      ]);
    } finally {
      await db2.destroy();
    }
  });

  it('migration 0010: sessions from before it proved a password at their creation (amr pwd, auth_time = created_at)', async () => {
    const file = join(root, 'upgrade-0010', 'gatehouse.db');
    const before = Object.fromEntries(Object.entries(gatehouseMigrations(sqliteFlavor)).filter(([name]) => name < '0010'));
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    const provider = { getMigrations: async (): Promise<Record<string, Migration>> => before };
    expect((await new Migrator({ db, provider }).migrateToLatest()).error).toBeUndefined();
    const user = makeUser();
    await db
      .insertInto('users')
      .values({ id: user.id, username: user.username, username_canonical: user.usernameCanonical, password_hash: user.passwordHash, roles: '[]', created_at: user.createdAt, updated_at: user.updatedAt })
      .execute();
    const { amr: _a, authTime: _t, ...old } = makeSession(user.id, { createdAt: 1_700_000_000_123, scope: null });
    await db
      .insertInto('sessions')
      .values({
        id: old.id, token_hash: old.tokenHash, user_id: old.userId, device_id: old.deviceId, device_name: old.deviceName, csrf_token: old.csrfToken, persistent: 1,
        created_at: old.createdAt, last_seen_at: old.lastSeenAt, expires_at: old.expiresAt, absolute_expires_at: old.absoluteExpiresAt, scope: null,
      })
      .execute();
    await db.destroy();
    const stores = await open(file);
    try {
      expect(await stores.sessions.findById(old.id)).toEqual({ ...old, amr: ['pwd'], authTime: 1_700_000_000_123 });
    } finally {
      await stores.close();
    }
    // Filled in the rows themselves, not only read so (another reader sees the same).
    const raw = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    try {
      expect(await raw.selectFrom('sessions').select(['amr', 'auth_time']).where('id', '=', old.id).executeTakeFirst()).toEqual({ amr: 'pwd', auth_time: 1_700_000_000_123 });
    } finally {
      await raw.destroy();
    }
  });

  it('migration 0009: a user\'s identities go with it (on delete cascade)', async () => {
    const file = join(root, 'identities-cascade', 'gatehouse.db');
    const stores = await open(file);
    const [gone, kept] = [makeUser(), makeUser()];
    for (const u of [gone, kept]) await stores.users.create(u);
    for (const [u, subject] of [[gone, 'a'], [gone, 'b'], [kept, 'c']] as const) {
      await stores.identities.link({ provider: 'google', subject, userId: u.id, email: null, emailVerified: false, createdAt: 1, lastUsedAt: 1 });
    }
    await stores.close();
    // No code path removes a user yet; an operator's `delete from users` must not leave identities behind.
    const db = new Kysely<Record<string, Record<string, unknown>>>({ dialect: new SqliteDialect({ database: openSqliteDatabase(file) }) });
    try {
      await db.deleteFrom('users').where('id', '=', gone.id).execute();
      expect(await db.selectFrom('identities').select(['subject', 'user_id']).orderBy('subject').execute()).toEqual([{ subject: 'c', user_id: kept.id }]);
    } finally {
      await db.destroy();
    }
  });

  it('lets several instances open one new file at the same time', async () => {
    const file = join(root, 'together', 'gatehouse.db');
    const all = await Promise.all(Array.from({ length: 4 }, () => open(file)));
    try {
      const u = makeUser();
      await all[0]!.users.create(u);
      expect(await all[3]!.users.findById(u.id)).toEqual(u);
      await expect(all[2]!.users.create(makeUser({ usernameCanonical: u.usernameCanonical }))).rejects.toBeInstanceOf(UsernameTakenError);
    } finally {
      await Promise.all(all.map((s) => s.close()));
    }
  });

  it('closing one of two Stores on the same file leaves the other working, and the file closes with the last', async () => {
    const file = join(root, 'shared', 'gatehouse.db');
    const [a, b] = await Promise.all([open(file), open(file)]);
    await a.close();
    await expect(a.users.list()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect((await a.ready()).users).toBe(false);
    await b.users.create(makeUser());
    expect(await b.users.list()).toHaveLength(1);
    await b.close();
    await expect(b.users.list()).rejects.toBeInstanceOf(StoreUnavailableError);
    const c = await open(file);
    expect(await c.users.list()).toHaveLength(1);
    await c.close();
  });

  it('works on :memory:', async () => {
    const stores = await openSqliteStores({ file: ':memory:', clock });
    try {
      expect(stores.describe.users).toBe('SQLite :memory:');
      await stores.users.create(makeUser());
      expect(await stores.users.list()).toHaveLength(1);
    } finally {
      await stores.close();
    }
  });
});

describe('SQLite error mapping', () => {
  const sqliteError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

  it('maps busy, locked and I/O errors to StoreUnavailableError, keeping the cause', async () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_READONLY']) {
      const cause = sqliteError(code, 'database is locked');
      const err = await guard(sqliteFlavor, 'sessions', () => Promise.reject(cause)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).cause).toBe(cause);
    }
  });

  it('lets UsernameTakenError and programming errors through unchanged', async () => {
    const taken = new UsernameTakenError();
    await expect(guard(sqliteFlavor, 'users', () => Promise.reject(taken))).rejects.toBe(taken);
    const bug = sqliteError('SQLITE_ERROR', 'no such column: nope');
    await expect(guard(sqliteFlavor, 'users', () => Promise.reject(bug))).rejects.toBe(bug);
  });

  it('reads the constraint of a unique violation', () => {
    expect(sqliteFlavor.classify(sqliteError('SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed: users.username_canonical'))).toEqual({
      kind: 'unique_violation',
      constraint: 'users.username_canonical',
    });
  });
});
