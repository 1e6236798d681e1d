import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../context.js';
import { makeApiToken, makeClient, makeSession, makeUser } from '../../stores/contract/fixtures.test-helpers.js';
import { openPostgresStores } from '../../stores/postgres/open-postgres-stores.js';
import { dropSchemas, requirePostgres, TEST_DATABASE_URL, testSchemaName, withTestClient } from '../../stores/postgres/test-env.test-helpers.js';
import type { Stores, UserRecord } from '../../stores/types.js';
import { createTestDeps } from '../test-helpers.js';
import { auditPseudonym, deleteUser } from './lifecycle.js';

/*
 * Issue 18, delete: every row of the user is gone, read from the raw database (SQLite file and
 * PostgreSQL), table by table: every table with a `user_id` column is listed from the schema
 * itself, so a table added later must be named here (and filled with a row of the user) before
 * this passes, and so cannot be forgotten by the deletion. The audit log keeps the user's events
 * under the pseudonym, without ip, device, user agent or detail.
 */

/** Every table with a user_id column, each filled below with rows of both users. */
const USER_TABLES = [
  'api_tokens',
  'audit_events',
  'device_codes',
  'email_tokens',
  'identities',
  'mfa_tickets',
  'recovery_codes',
  'sessions',
  'totp_factors',
  'user_emails',
  'webauthn_challenges',
  'webauthn_credentials',
];

interface RawDb {
  /** Tables with a user_id column. */
  userTables(): Promise<string[]>;
  /** Rows of `table` where `column` = `value`. */
  count(table: string, column: string, value: string): Promise<number>;
  /** The audit rows of a user id, as stored. */
  audit(userId: string): Promise<Array<Record<string, unknown>>>;
  /** Audit rows whose detail holds `text` anywhere. */
  detailsHolding(text: string): Promise<number>;
  close(): Promise<void>;
}

const pgAvailable = await requirePostgres(TEST_DATABASE_URL, 'delete-user PostgreSQL test');
const schemas = new Set<string>();
afterAll(async () => {
  if (pgAvailable) await dropSchemas(schemas);
});

interface Backend {
  name: string;
  open(): Promise<{ deps: Deps; raw: RawDb; close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite',
  async open() {
    const { deps, close } = await createTestDeps();
    const db = new Database(join(deps.config.dataDir, 'gatehouse.db'), { readonly: true });
    const raw: RawDb = {
      async userTables() {
        const tables = db.prepare(`select name from sqlite_master where type = 'table'`).all() as Array<{ name: string }>;
        return tables.filter((t) => (db.prepare(`select name from pragma_table_info(?)`).all(t.name) as Array<{ name: string }>).some((c) => c.name === 'user_id')).map((t) => t.name);
      },
      async count(table, column, value) {
        return (db.prepare(`select count(*) as n from "${table}" where "${column}" = ?`).get(value) as { n: number }).n;
      },
      async audit(userId) {
        return db.prepare(`select user_id, ip, device_id, user_agent, detail from audit_events where user_id = ?`).all(userId) as Array<Record<string, unknown>>;
      },
      async detailsHolding(text) {
        return (db.prepare(`select count(*) as n from audit_events where instr(detail, ?) > 0`).get(text) as { n: number }).n;
      },
      async close() {
        db.close();
      },
    };
    return { deps, raw, close };
  },
};

const postgres: Backend = {
  name: 'PostgreSQL',
  async open() {
    const { deps, clock, close } = await createTestDeps();
    const schema = testSchemaName('gh_del');
    schemas.add(schema);
    const pgStores: Stores = await openPostgresStores({ url: TEST_DATABASE_URL, clock, schema });
    deps.stores = pgStores;
    const q = <T>(text: string, values: unknown[]) => withTestClient(async (c) => (await c.query(text, values)).rows as T[]);
    const raw: RawDb = {
      async userTables() {
        const rows = await q<{ table_name: string }>(`select table_name from information_schema.columns where table_schema = $1 and column_name = 'user_id'`, [schema]);
        return rows.map((r) => r.table_name);
      },
      async count(table, column, value) {
        return Number((await q<{ n: string }>(`select count(*) as n from "${schema}"."${table}" where "${column}" = $1`, [value]))[0]!.n);
      },
      audit: (userId) => q(`select user_id, ip, device_id, user_agent, detail from "${schema}".audit_events where user_id = $1`, [userId]),
      async detailsHolding(text) {
        return Number((await q<{ n: string }>(`select count(*) as n from "${schema}".audit_events where strpos(detail, $1) > 0`, [text]))[0]!.n);
      },
      async close() {
        await pgStores.close();
      },
    };
    return { deps, raw, close };
  },
};

/** A row of `user` in every table that holds rows of a user. Returns the session ids (their refresh tokens have no user_id). */
async function fill(deps: Deps, user: UserRecord, clientId: string, tag: string): Promise<string[]> {
  const s = deps.stores;
  const now = deps.clock.now();
  const session = makeSession(user.id, { createdAt: now, lastSeenAt: now, expiresAt: now + 3_600_000, absoluteExpiresAt: now + 7_200_000 });
  await s.sessions.createReplacingDevice(session);
  await s.refreshTokens.create({ tokenHash: `rt-${tag}`, sessionId: session.id, createdAt: now, rotatedAt: null, clientId: null });
  await s.apiTokens.create(makeApiToken(user.id));
  await s.identities.link({ provider: 'gh', subject: `sub-${tag}`, userId: user.id, email: `${tag}@example.com`, emailVerified: true, createdAt: now, lastUsedAt: now });
  await s.mfa.putPendingTotp({ userId: user.id, secretJwe: 'jwe', createdAt: now, confirmedAt: null, lastStep: null });
  await s.mfa.replaceRecoveryCodes(user.id, [`code-${tag}`], now);
  await s.mfa.createTicket({ ticketHash: `t-${tag}`, userId: user.id, via: 'signin', deviceId: null, deviceName: null, persistent: false, clientId: null, scope: null, createdAt: now, expiresAt: now + 300_000, usedAt: null });
  await s.webauthn.createCredential({ id: `cred-${tag}`, userId: user.id, publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, name: 'key', createdAt: now, lastUsedAt: null });
  await s.webauthn.createChallenge({ challengeHash: `ch-${tag}`, kind: 'registration', userId: user.id, createdAt: now, expiresAt: now + 300_000 });
  await s.emails.set(user.id, `${tag}@example.com`, now);
  await s.emails.createToken({ tokenHash: `et-${tag}`, userId: user.id, purpose: 'reset', address: null, createdAt: now, expiresAt: now + 1_800_000, usedAt: null });
  const userCode = tag === 'gone' ? 'BCDFGHJK' : 'LMNPQRST';
  await s.deviceCodes.create({ deviceCodeHash: `dc-${tag}`, userCode, clientId, scope: 'notes:read', deviceName: null, createdAt: now, expiresAt: now + 600_000, intervalSec: 5, lastPollAt: null, status: 'pending', userId: null });
  expect(await s.deviceCodes.decide(userCode, 'approved', user.id, now)).not.toBeNull();
  for (const type of ['signup', 'signin.success'] as const) {
    await s.audit.append({ id: `ev-${type}-${tag}`, userId: user.id, type, at: now, ip: '192.0.2.7', deviceId: 'dev-1', userAgent: 'Firefox', detail: { sid: session.id } });
  }
  return [session.id];
}

describe.each([sqlite, ...(pgAvailable ? [postgres] : [])])('deleteUser, read back from the raw database: $name', (backend) => {
  it('removes every row of the user in every table with a user_id (and their refresh tokens); keeps the other user\'s; pseudonymises the audit trail', async () => {
    const { deps, raw, close } = await backend.open();
    try {
      expect((await raw.userTables()).sort(), 'a table with a user_id column was added: fill a row of it in fill() and make deleteUser remove it').toEqual(USER_TABLES);
      const client = makeClient({ grants: ['device_code', 'refresh_token'], type: 'public', secrets: [], service: null });
      await deps.stores.clients.create(client);
      const gone = makeUser({ username: 'gone-user', usernameCanonical: 'gone-user' });
      const stays = makeUser({ username: 'stays-user', usernameCanonical: 'stays-user' });
      for (const u of [gone, stays]) await deps.stores.users.create(u);
      const goneSessions = await fill(deps, gone, client.clientId, 'gone');
      const staySessions = await fill(deps, stays, client.clientId, 'stays');
      for (const table of USER_TABLES) expect(await raw.count(table, 'user_id', gone.id), table).toBeGreaterThan(0);

      // Events of another account that name the user: an admin's action on them, and a change the user (an admin) made.
      await deps.stores.audit.append({ id: 'ev-admin-action', userId: stays.id, type: 'admin.action', at: deps.clock.now(), ip: null, deviceId: null, userAgent: null, detail: { action: 'users.show', target: gone.id, status: 200 } });
      await deps.stores.audit.append({ id: 'ev-by-gone', userId: stays.id, type: 'roles.changed', at: deps.clock.now(), ip: null, deviceId: null, userAgent: null, detail: { by: gone.id, roles: 'staff' } });
      expect(await raw.detailsHolding(gone.id)).toBe(2);

      await deleteUser(deps, gone.id, { adminId: 'the-admin' });

      expect(await raw.count('users', 'id', gone.id)).toBe(0);
      for (const table of USER_TABLES) expect(await raw.count(table, 'user_id', gone.id), table).toBe(0);
      for (const sid of goneSessions) expect(await raw.count('refresh_tokens', 'session_id', sid)).toBe(0);
      // The other user keeps every row.
      expect(await raw.count('users', 'id', stays.id)).toBe(1);
      for (const table of USER_TABLES) expect(await raw.count(table, 'user_id', stays.id), table).toBeGreaterThan(0);
      for (const sid of staySessions) expect(await raw.count('refresh_tokens', 'session_id', sid)).toBe(1);
      // The audit trail: the two events and account.deleted, under the pseudonym, nothing else of the user.
      const subject = auditPseudonym(deps, gone.id);
      const rows = await raw.audit(subject);
      expect(rows).toHaveLength(3);
      const cleared = rows.filter((r) => r.detail === null);
      expect(cleared).toHaveLength(2);
      for (const r of cleared) expect(r).toEqual({ user_id: subject, ip: null, device_id: null, user_agent: null, detail: null });
      expect(JSON.parse(rows.find((r) => r.detail !== null)!.detail as string)).toEqual({ by: 'the-admin' });
      expect((await raw.audit(stays.id)).filter((r) => r.ip !== null).every((r) => r.ip === '192.0.2.7')).toBe(true);
      // No event names the deleted user's id any more: the other account's name the pseudonym.
      expect(await raw.detailsHolding(gone.id)).toBe(0);
      const others = (await raw.audit(stays.id)).filter((r) => typeof r.detail === 'string' && r.detail.includes(subject)).map((r) => JSON.parse(r.detail as string) as unknown);
      expect(others).toEqual(expect.arrayContaining([{ action: 'users.show', target: subject, status: 200 }, { by: subject, roles: 'staff' }]));
      expect(others).toHaveLength(2);
      // Quarantined under its canonical name.
      expect(await raw.count('username_quarantine', 'username_canonical', 'gone-user')).toBe(1);
    } finally {
      await raw.close();
      await close();
    }
  });
});
