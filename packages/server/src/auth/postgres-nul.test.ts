import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../context.js';
import { randomId } from '../crypto/secrets.js';
import { openPostgresStores } from '../stores/postgres/open-postgres-stores.js';
import { dropSchemas, requirePostgres, TEST_DATABASE_URL, testSchemaName } from '../stores/postgres/test-env.test-helpers.js';
import type { UserRecord } from '../stores/types.js';
import { createAuthContext } from './auth-context.js';
import { buildAuthService } from './auth-service.js';
import { createDeviceSession } from './sessions.js';
import { createTestDeps, mintPassport } from './test-helpers.js';

/*
 * PostgreSQL refuses U+0000 in text (SQLSTATE 22021). A NUL in a query, path or body that
 * reaches a store is the caller's mistake: 400 invalid_request, never a 500 (issue 18 review:
 * the admin filters and cursors, the forgotten-password form and the sign-in form all reached
 * PostgreSQL with it).
 */

const pgAvailable = await requirePostgres(TEST_DATABASE_URL, 'NUL-in-input PostgreSQL test');
const schemas = new Set<string>();
afterAll(async () => {
  if (pgAvailable) await dropSchemas(schemas);
});

const cursor = (key: unknown[]): string => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');

describe.runIf(pgAvailable)('a NUL character on PostgreSQL', () => {
  let deps: Deps;
  let app: FastifyInstance;
  let admin: UserRecord;
  let closeDeps: () => Promise<void>;

  beforeEach(async () => {
    const t = await createTestDeps();
    deps = t.deps;
    closeDeps = t.close;
    const schema = testSchemaName('gh_nul');
    schemas.add(schema);
    deps.stores = await openPostgresStores({ url: TEST_DATABASE_URL, clock: t.clock, schema });
    app = await buildAuthService(deps, createAuthContext(deps));
    const now = deps.clock.now();
    const base = { passwordHash: '', roles: [] as string[], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
    admin = { ...base, id: randomId(), username: 'root-admin', usernameCanonical: 'root-admin', roles: ['admin'] };
    await deps.stores.users.create(admin);
    await deps.stores.users.create({ ...base, id: randomId(), username: 'alice', usernameCanonical: 'alice' });
  });

  afterEach(async () => {
    await app.close();
    await deps.stores.close();
    await closeDeps();
  });

  async function asAdmin(method: 'GET' | 'POST' | 'DELETE', url: string): Promise<{ statusCode: number; json(): unknown }> {
    const { session } = await createDeviceSession(deps, { user: admin, deviceId: 'dev-nul', deviceName: null, persistent: true });
    const passport = await mintPassport(deps, {
      sub: admin.id,
      username: admin.username,
      roles: admin.roles,
      sid: session.id,
      did: session.deviceId,
      auth: 'session',
      amr: ['pwd'],
      auth_time: Math.floor(deps.clock.now() / 1000),
    });
    return app.inject({ method, url, headers: { 'x-passport': passport } });
  }

  it('answers 400 invalid_request on the admin filters, ids and cursors', async () => {
    for (const [method, url] of [
      ['GET', '/auth/admin/users?q=%00'],
      ['GET', '/auth/admin/users/%00'],
      ['GET', `/auth/admin/users?cursor=${cursor(['u', 1, '\u0000'])}`],
      ['GET', '/auth/admin/audit?user=%00'],
      ['GET', '/auth/admin/audit/export?user=%00'],
      ['GET', '/auth/admin/sessions?user=%00'],
      ['GET', '/auth/admin/sessions?ip=%00'],
      ['GET', '/auth/admin/sessions?device=%00'],
      ['POST', '/auth/admin/users/%00/disable'],
      ['DELETE', '/auth/admin/sessions/%00'],
    ] as const) {
      const res = await asAdmin(method, url);
      expect(res.statusCode, `${method} ${url}`).toBe(400);
      expect(res.json(), `${method} ${url}`).toMatchObject({ code: 'invalid_request', detail: expect.stringContaining('NUL') });
    }
  });

  it('answers 400 invalid_request on the forgotten-password and sign-in forms', async () => {
    for (const username_or_email of ['ali\u0000ce', 'a\u0000@example.com']) {
      const res = await app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { username_or_email } });
      expect(res.statusCode, username_or_email).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_request' });
    }
    const res = await app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'ali\u0000ce', password: 'whatever-it-is' } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'invalid_request' });
  });

  it('a username prefix of LIKE wildcards matches them literally', async () => {
    for (const q of ['%', '_', '%25', '\\', '_lice', 'root%']) {
      const res = await asAdmin('GET', `/auth/admin/users?q=${encodeURIComponent(q)}`);
      expect(res.statusCode, q).toBe(200);
      expect(res.json(), q).toEqual({ items: [], next_cursor: null });
    }
    const res = await asAdmin('GET', '/auth/admin/users?q=ali');
    expect((res.json() as { items: Array<{ username: string }> }).items.map((u) => u.username)).toEqual(['alice']);
  });
});
