import Fastify, { type LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId } from '../crypto/secrets.js';
import type { AuditEvent, UserRecord } from '../stores/types.js';
import { installAdminGuard } from './admin/guard.js';
import { auditPseudonym } from './admin/lifecycle.js';
import { ACCOUNT_LANE, ADMIN_LANE, declaredRoutes, installLanes } from './lanes.js';
import { createDeviceSession } from './sessions.js';
import { createAuthHarness, mintPassport, type AuthHarness, type HarnessOptions } from './test-helpers.js';

/*
 * Issue 18, the admin API (docs/admin.md) through the auth service: the guard on every route
 * (walked from declaredRoutes, so a new admin route is covered by itself), keyset pagination,
 * the last-admin rule, the audit of every call, and each route's work against real stores.
 * The lane and the CSRF check through the real gateway: admin-gateway.test.ts.
 */

let h: AuthHarness;
let admin: UserRecord;

async function makeUser(h: AuthHarness, username: string, roles: string[] = [], createdAt = h.clock.now()): Promise<UserRecord> {
  const user: UserRecord = {
    id: randomId(),
    username,
    usernameCanonical: username.toLowerCase(),
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA',
    roles,
    createdAt,
    updatedAt: createdAt,
    disabledAt: null,
    passwordChangeRequired: false,
  };
  await h.deps.stores.users.create(user);
  return user;
}

interface As {
  user: UserRecord;
  /** Seconds since the sign-in (default 0). */
  authAgeSec?: number;
  amr?: string[];
  /** The roles the passport says (default: the user's). */
  roles?: string[];
}

/** A browser session of the user and the passport the gateway would forward for it. */
async function passportAs(as: As): Promise<string> {
  const { session } = await createDeviceSession(h.deps, { user: as.user, deviceId: `dev-${randomId().slice(0, 6)}`, deviceName: null, persistent: true });
  const nowSec = Math.floor(h.clock.now() / 1000);
  return mintPassport(h.deps, {
    sub: as.user.id,
    username: as.user.username,
    roles: as.roles ?? as.user.roles,
    sid: session.id,
    did: session.deviceId,
    auth: 'session',
    amr: as.amr ?? ['pwd'],
    auth_time: nowSec - (as.authAgeSec ?? 0),
  });
}

async function call(method: string, url: string, as: As, payload?: unknown): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: method as 'GET', url, headers: { 'x-passport': await passportAs(as), 'user-agent': 'admin-test' }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
}

/** Every admin route as registered, with a concrete path and a body that passes its schema. */
function adminRoutes(target: string): Array<{ method: string; route: string; path: string; body?: Record<string, unknown> }> {
  const bodies: Record<string, Record<string, unknown>> = {
    'PUT /auth/admin/users/:id/roles': { roles: ['staff'] },
    'POST /auth/admin/clients': { client_id: 'walk-tv', name: 'Walk TV', type: 'public', grants: ['device_code'], scopes: ['notes:read'] },
  };
  return declaredRoutes(h.app)
    .filter((r) => r.url.startsWith('/auth/admin/') && r.method !== 'HEAD')
    .map((r) => {
      const key = `${r.method} ${r.url}`;
      return { method: r.method, route: r.url, path: r.url.replace(':id', target), ...(bodies[key] !== undefined ? { body: bodies[key] } : {}) };
    });
}

async function adminEvents(userId: string): Promise<AuditEvent[]> {
  await h.auth.backgroundAudit.settle();
  return (await h.deps.stores.audit.listByUser(userId, 500)).filter((e) => e.type === 'admin.action');
}

async function setup(options: HarnessOptions = {}): Promise<void> {
  h = await createAuthHarness(options);
  admin = await makeUser(h, 'root-admin', ['admin']);
}

describe('admin API guard', () => {
  beforeEach(() => setup({ config: (c) => void (c.admin.writesPerMinute = 1000) }));
  afterEach(() => h.close());

  it('the walk covers the spec\'s routes', () => {
    const routes = adminRoutes('x').map((r) => `${r.method} ${r.route}`).sort();
    expect(routes).toEqual(
      [
        'GET /auth/admin/users',
        'GET /auth/admin/users/:id',
        'PUT /auth/admin/users/:id/roles',
        'POST /auth/admin/users/:id/disable',
        'POST /auth/admin/users/:id/enable',
        'POST /auth/admin/users/:id/signout-all',
        'POST /auth/admin/users/:id/require-password-change',
        'POST /auth/admin/users/:id/reset-link',
        'DELETE /auth/admin/users/:id',
        'GET /auth/admin/sessions',
        'DELETE /auth/admin/sessions/:id',
        'GET /auth/admin/keys',
        'POST /auth/admin/keys/rotate',
        'GET /auth/admin/clients',
        'POST /auth/admin/clients',
        'DELETE /auth/admin/clients/:id',
        'GET /auth/admin/audit',
        'GET /auth/admin/audit/export',
      ].sort(),
    );
  });

  it('an admin route that does not take ADMIN_LANE, or names no action, stops the service from starting', async () => {
    const app = Fastify();
    installLanes(app, async () => undefined);
    installAdminGuard(app, h.deps);
    app.get('/auth/admin/fine', { config: { lane: ADMIN_LANE, admin: { action: 'fine' } } }, async () => 'ok');
    expect(() => app.get('/auth/admin/loose', { config: { lane: ACCOUNT_LANE, admin: { action: 'loose' } } }, async () => 'no')).toThrow(/must take ADMIN_LANE/);
    expect(() => app.get('/auth/admin/unnamed', { config: { lane: ADMIN_LANE } }, async () => 'no')).toThrow(/name its action/);
    await app.close();
  });

  it('a non-admin gets 403 admin_required on every admin route, and nothing changes', async () => {
    const plain = await makeUser(h, 'plain-user', ['staff']);
    const target = await makeUser(h, 'target-user');
    const keysBefore = (await h.deps.stores.keys.list()).length;
    for (const r of adminRoutes(target.id)) {
      const res = await call(r.method, r.path, { user: plain }, r.body);
      expect(res.statusCode, `${r.method} ${r.route}`).toBe(403);
      expect(res.json(), `${r.method} ${r.route}`).toMatchObject({ code: 'admin_required' });
      expect(res.json().detail).toContain(`${r.method} ${r.route}`);
      expect(res.json().detail).toContain('gatehouse users grant');
    }
    expect(await h.deps.stores.users.findById(target.id)).toEqual(target);
    expect((await h.deps.stores.keys.list()).length).toBe(keysBefore);
    expect(await h.deps.stores.clients.list()).toEqual([]);
    expect(await adminEvents(plain.id)).toEqual([]);
  });

  it('the role is read fresh: a passport that still says admin, a revoked role or a disabled admin get 403 admin_required', async () => {
    const former = await makeUser(h, 'former-admin', []);
    const res = await call('GET', '/auth/admin/users', { user: former, roles: ['admin'] });
    expect(res.json()).toMatchObject({ code: 'admin_required' });
    const disabled = await makeUser(h, 'disabled-admin', ['admin']);
    expect((await call('GET', '/auth/admin/users', { user: disabled })).statusCode).toBe(200);
    await h.deps.stores.users.setDisabled(disabled.id, h.clock.now(), h.clock.now());
    expect((await call('GET', '/auth/admin/users', { user: disabled })).json()).toMatchObject({ code: 'admin_required' });
    // The store says admin but the passport does not (minted before the grant): sign in again.
    expect((await call('GET', '/auth/admin/users', { user: admin, roles: [] })).json()).toMatchObject({ code: 'admin_required' });
  });

  it('a sign-in older than admin.maxAuthAgeSec gets 401 insufficient_user_authentication on every route, as the gateway\'s step-up refusal', async () => {
    const target = await makeUser(h, 'stale-target');
    for (const r of adminRoutes(target.id)) {
      const res = await call(r.method, r.path, { user: admin, authAgeSec: 601 }, r.body);
      expect(res.statusCode, `${r.method} ${r.route}`).toBe(401);
      expect(res.json()).toMatchObject({ code: 'insufficient_user_authentication', required: 'max_age', max_age: 600 });
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A sign-in within the last 600 seconds is required", max_age=600',
      );
    }
    expect((await call('GET', '/auth/admin/users', { user: admin, authAgeSec: 600 })).statusCode).toBe(200);
  });
});

describe('admin API with admin.requireMfa', () => {
  beforeEach(() => setup({ config: (c) => void (c.admin.requireMfa = true) }));
  afterEach(() => h.close());

  it('a password-only sign-in gets 401 (required: mfa); one with a second factor passes', async () => {
    const res = await call('GET', '/auth/admin/users', { user: admin, amr: ['pwd'] });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'insufficient_user_authentication', required: 'mfa' });
    expect((await call('GET', '/auth/admin/users', { user: admin, amr: ['pwd', 'otp', 'mfa'] })).statusCode).toBe(200);
    // A second factor long ago is still too old.
    expect((await call('GET', '/auth/admin/users', { user: admin, amr: ['pwd', 'otp', 'mfa'], authAgeSec: 3600 })).json()).toMatchObject({ required: 'max_age' });
  });
});

describe('admin API write limit', () => {
  beforeEach(() => setup({ config: (c) => void (c.admin.writesPerMinute = 3) }));
  afterEach(() => h.close());

  it('admin.writesPerMinute writes per admin, then 429 rate_limited with Retry-After; reads are not counted', async () => {
    const target = await makeUser(h, 'limit-target');
    for (let i = 0; i < 3; i++) expect((await call('POST', `/auth/admin/users/${target.id}/signout-all`, { user: admin })).statusCode).toBe(200);
    const refused = await call('POST', `/auth/admin/users/${target.id}/signout-all`, { user: admin });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) expect((await call('GET', '/auth/admin/users', { user: admin })).statusCode).toBe(200);
    // Another admin has their own budget.
    const other = await makeUser(h, 'other-admin', ['admin']);
    expect((await call('POST', `/auth/admin/users/${target.id}/signout-all`, { user: other })).statusCode).toBe(200);
    // The refused write did nothing and was not audited as done.
    const statuses = (await adminEvents(admin.id)).filter((e) => e.detail?.action === 'users.signout_all').map((e) => e.detail?.status);
    expect(statuses).toEqual([200, 200, 200]);
  });
});

describe('admin API routes', () => {
  beforeEach(() => setup({ config: (c) => void (c.admin.writesPerMinute = 1000) }));
  afterEach(() => h.close());

  it('every call, reads too, appends one admin.action event on the acting admin (action, target, status)', async () => {
    const target = await makeUser(h, 'audited-target');
    await call('GET', '/auth/admin/users', { user: admin });
    await call('GET', `/auth/admin/users/${target.id}`, { user: admin });
    await call('POST', `/auth/admin/users/${target.id}/disable`, { user: admin });
    await call('GET', '/auth/admin/users/nobody', { user: admin });
    await call('GET', '/auth/admin/keys', { user: admin });
    const events = (await adminEvents(admin.id)).reverse();
    expect(events.map((e) => e.detail)).toEqual([
      { action: 'users.list', status: 200 },
      { action: 'users.show', target: target.id, status: 200 },
      { action: 'users.disable', target: target.id, status: 200 },
      { action: 'users.show', target: 'nobody', status: 404 },
      { action: 'keys.list', status: 200 },
    ]);
    expect(events.every((e) => e.userId === admin.id && e.userAgent === 'admin-test')).toBe(true);
    // Nothing on the target's own log but what was done to them.
    expect(await adminEvents(target.id)).toEqual([]);
  });

  it('lists users newest first in keyset pages that stay stable under concurrent inserts', async () => {
    const t0 = h.clock.now();
    const users = [admin];
    for (let i = 0; i < 7; i++) users.push(await makeUser(h, `page-user-${i}`, [], t0 + (i + 1) * 1000));
    const first = await call('GET', '/auth/admin/users?limit=3', { user: admin });
    expect(first.statusCode).toBe(200);
    const body = first.json() as { items: Array<{ id: string; username: string; disabled: boolean; created_at: string }>; next_cursor: string };
    expect(body.items.map((u) => u.username)).toEqual(['page-user-6', 'page-user-5', 'page-user-4']);
    expect(body.items[0]).toEqual({ id: users[7]!.id, username: 'page-user-6', roles: [], disabled: false, created_at: new Date(t0 + 7000).toISOString(), updated_at: new Date(t0 + 7000).toISOString() });
    // Inserted between the pages: the newest, one in the middle, one tied with the cursor row.
    await makeUser(h, 'late-newest', [], t0 + 100_000);
    await makeUser(h, 'late-middle', [], t0 + 2500);
    await makeUser(h, 'late-tie', [], t0 + 5000);
    const seen = body.items.map((u) => u.id);
    let cursor: string | null = body.next_cursor;
    while (cursor !== null) {
      const res = await call('GET', `/auth/admin/users?limit=3&cursor=${cursor}`, { user: admin });
      const next = res.json() as { items: Array<{ id: string }>; next_cursor: string | null };
      seen.push(...next.items.map((u) => u.id));
      cursor = next.next_cursor;
      expect(seen.length).toBeLessThan(30);
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const u of users) expect(seen.filter((id) => id === u.id), u.username).toHaveLength(1);
  });

  it('filters users by username prefix (canonical), role, disabled and creation time', async () => {
    const t0 = h.clock.now();
    const ann = await makeUser(h, 'Ann-Staff', ['staff'], t0 + 1000);
    const anna = await makeUser(h, 'anna', [], t0 + 2000);
    await makeUser(h, 'bob', ['staff'], t0 + 3000);
    await h.deps.stores.users.setDisabled(anna.id, t0, t0);
    const names = async (query: string) => ((await call('GET', `/auth/admin/users?${query}`, { user: admin })).json() as { items: Array<{ username: string }> }).items.map((u) => u.username);
    expect(await names('q=ANN')).toEqual(['anna', 'Ann-Staff']);
    expect(await names('role=staff')).toEqual(['bob', 'Ann-Staff']);
    expect(await names('disabled=true')).toEqual(['anna']);
    expect(await names('q=ann&disabled=false')).toEqual(['Ann-Staff']);
    expect(await names(`created_after=${new Date(t0 + 1500).toISOString()}&created_before=${t0 + 3000}`)).toEqual(['anna']);
    expect(ann.id).toBeDefined();
    for (const bad of ['limit=0', 'limit=101', 'limit=x', 'disabled=yes', 'role=Not%20A%20Role', 'created_after=yesterday', 'nonsense=1']) {
      const res = await call('GET', `/auth/admin/users?${bad}`, { user: admin });
      expect(res.statusCode, bad).toBe(400);
    }
  });

  it('a cursor it did not give answers 400 invalid_request on every paged list', async () => {
    const userCursor = Buffer.from(JSON.stringify(['u', 1, 'x'])).toString('base64url');
    for (const path of ['/auth/admin/users', '/auth/admin/audit', '/auth/admin/sessions']) {
      for (const cursor of ['not-a-cursor', 'e30', Buffer.from('[1,2]').toString('base64url'), '%2F%2F', path === '/auth/admin/users' ? Buffer.from(JSON.stringify(['a', 1, 2])).toString('base64url') : userCursor]) {
        const res = await call('GET', `${path}?cursor=${cursor}`, { user: admin });
        expect(res.statusCode, `${path} ${cursor}`).toBe(400);
        expect(res.json().code).toBe('invalid_request');
      }
    }
  });

  it('shows one user with sessions (kind, sign-in address), tokens, identities, factors and latest events; 404 for an unknown id', async () => {
    const target = await makeUser(h, 'shown-user', ['staff']);
    const browser = await createDeviceSession(h.deps, { user: target, deviceId: 'laptop', deviceName: 'Laptop', persistent: true });
    await createDeviceSession(h.deps, { user: target, deviceId: 'tv', deviceName: null, persistent: true, scope: 'notes:read' });
    await h.deps.stores.audit.append({ id: randomId(), userId: target.id, type: 'signin.success', at: h.clock.now(), ip: '198.51.100.9', deviceId: 'laptop', userAgent: 'UA', detail: { sid: browser.session.id } });
    await h.deps.stores.apiTokens.create({ id: 'tok-1', userId: target.id, name: 'script', tokenHash: randomId(), scopes: ['notes:read'], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
    await h.deps.stores.identities.link({ provider: 'google', subject: 'g-1', userId: target.id, email: 'shown@example.com', emailVerified: true, createdAt: 0, lastUsedAt: 0 });
    const res = await call('GET', `/auth/admin/users/${target.id}`, { user: admin });
    expect(res.statusCode).toBe(200);
    const b = res.json();
    expect(b.user).toMatchObject({ id: target.id, username: 'shown-user', roles: ['staff'], disabled: false, email: null, email_verified: false, password_change_required: false, has_password: true });
    expect(b.sessions).toHaveLength(2);
    expect(b.sessions.find((s: { device_id: string }) => s.device_id === 'laptop')).toMatchObject({ kind: 'browser', ip: '198.51.100.9', device_name: 'Laptop' });
    expect(b.sessions.find((s: { device_id: string }) => s.device_id === 'tv')).toMatchObject({ kind: 'token', ip: null });
    expect(b.api_tokens).toEqual([{ id: 'tok-1', name: 'script', scopes: ['notes:read'], created_at: expect.any(String), last_used_at: null, expires_at: null }]);
    expect(b.identities).toEqual([{ provider: 'google', subject: 'g-1', email: 'shown@example.com', created_at: new Date(0).toISOString(), last_used_at: new Date(0).toISOString() }]);
    expect(b.factors).toEqual({ totp: false, recovery_codes: 0, passkeys: [] });
    expect(b.events[0]).toMatchObject({ type: 'signin.success', user_id: target.id, username: 'shown-user', ip: '198.51.100.9' });
    expect(JSON.stringify(b)).not.toMatch(/argon2|token_hash|tokenHash|csrf/i);
    expect((await call('GET', '/auth/admin/users/nobody', { user: admin })).json()).toMatchObject({ code: 'not_found' });
  });

  it('sets roles, disables, enables, ends sessions and deletes another user for real', async () => {
    const target = await makeUser(h, 'acted-on');
    await createDeviceSession(h.deps, { user: target, deviceId: 'd1', deviceName: null, persistent: true });
    const roles = await call('PUT', `/auth/admin/users/${target.id}/roles`, { user: admin }, { roles: ['staff', 'admin', 'staff'] });
    expect(roles.json()).toMatchObject({ id: target.id, roles: ['staff', 'admin'] });
    expect((await h.deps.stores.users.findById(target.id))?.roles).toEqual(['staff', 'admin']);
    expect((await call('PUT', `/auth/admin/users/${target.id}/roles`, { user: admin }, { roles: ['Bad Role'] })).statusCode).toBe(400);
    const disabled = await call('POST', `/auth/admin/users/${target.id}/disable`, { user: admin });
    expect(disabled.json()).toMatchObject({ disabled: true });
    expect(await h.deps.stores.sessions.listByUser(target.id)).toEqual([]);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'user', userId: target.id }));
    expect((await call('POST', `/auth/admin/users/${target.id}/enable`, { user: admin })).json()).toMatchObject({ disabled: false });
    await createDeviceSession(h.deps, { user: target, deviceId: 'd2', deviceName: null, persistent: true });
    expect((await call('POST', `/auth/admin/users/${target.id}/signout-all`, { user: admin })).json()).toEqual({ ended: 1 });
    const pcr = await call('POST', `/auth/admin/users/${target.id}/require-password-change`, { user: admin });
    expect(pcr.statusCode).toBe(200);
    expect((await h.deps.stores.users.findById(target.id))?.passwordChangeRequired).toBe(true);
    const link = await call('POST', `/auth/admin/users/${target.id}/reset-link`, { user: admin });
    expect(link.statusCode).toBe(201);
    expect(link.headers['cache-control']).toBe('no-store');
    expect(link.json()).toEqual({ url: expect.stringMatching(/\/reset-password#token=/), expires_at: expect.any(String) });
    const deleted = await call('DELETE', `/auth/admin/users/${target.id}`, { user: admin });
    expect(deleted.statusCode).toBe(204);
    expect(await h.deps.stores.users.findById(target.id)).toBeNull();
    // The audit log no longer ties the deleted user's id to their pseudonym: the admin's events name the pseudonym.
    const pseudonym = auditPseudonym(h.deps, target.id);
    expect((await adminEvents(admin.id)).map((e) => e.detail?.target)).toEqual(Array(8).fill(pseudonym));
    expect(JSON.stringify(await h.deps.stores.audit.query({}, { limit: 500, order: 'desc' }))).not.toContain(target.id);
    for (const [method, suffix] of [['POST', '/disable'], ['POST', '/enable'], ['POST', '/signout-all'], ['DELETE', ''], ['PUT', '/roles']] as const) {
      const res = await call(method, `/auth/admin/users/${target.id}${suffix}`, { user: admin }, method === 'PUT' ? { roles: [] } : undefined);
      expect(res.statusCode, `${method} ${suffix}`).toBe(404);
    }
    // The reset link is never in the audit log.
    const logged = JSON.stringify(await h.deps.stores.audit.query({}, { limit: 100, order: 'desc' }));
    expect(logged).not.toContain(link.json().url);
  });

  it('last_admin: an admin cannot drop their own admin role, disable or delete themselves; another admin can', async () => {
    for (const [method, path, body] of [
      ['PUT', `/auth/admin/users/${admin.id}/roles`, { roles: ['staff'] }],
      ['POST', `/auth/admin/users/${admin.id}/disable`, undefined],
      ['DELETE', `/auth/admin/users/${admin.id}`, undefined],
    ] as const) {
      const res = await call(method, path, { user: admin }, body);
      expect(res.statusCode, `${method} ${path}`).toBe(409);
      expect(res.json().code).toBe('last_admin');
    }
    const me = await h.deps.stores.users.findById(admin.id);
    expect(me).toMatchObject({ roles: ['admin'], disabledAt: null });
    // Own roles keeping admin are fine.
    expect((await call('PUT', `/auth/admin/users/${admin.id}/roles`, { user: admin }, { roles: ['admin', 'staff'] })).statusCode).toBe(200);
    const second = await makeUser(h, 'second-admin', ['admin']);
    expect((await call('PUT', `/auth/admin/users/${admin.id}/roles`, { user: second }, { roles: [] })).statusCode).toBe(200);
    expect((await h.deps.stores.users.findById(admin.id))?.roles).toEqual([]);
  });

  it('lists recent sign-ins of every user (live or not) and ends one session', async () => {
    const a = await makeUser(h, 'signin-a');
    const b = await makeUser(h, 'signin-b');
    const sa = await createDeviceSession(h.deps, { user: a, deviceId: 'da', deviceName: null, persistent: true });
    const sb = await createDeviceSession(h.deps, { user: b, deviceId: 'db', deviceName: null, persistent: true });
    for (const [u, s, ip] of [[a, sa, '198.51.100.1'], [b, sb, '198.51.100.2']] as const) {
      await h.deps.stores.audit.append({ id: randomId(), userId: u.id, type: 'signin.success', at: h.clock.now(), ip, deviceId: s.session.deviceId, userAgent: 'UA', detail: { sid: s.session.id } });
      h.clock.advance(1000);
    }
    const all = (await call('GET', '/auth/admin/sessions', { user: admin })).json();
    expect(all.items.map((i: { username: string }) => i.username)).toEqual(['signin-b', 'signin-a']);
    expect(all.items[0]).toEqual({ event_id: expect.any(String), at: expect.any(String), user_id: b.id, username: 'signin-b', ip: '198.51.100.2', device_id: 'db', user_agent: 'UA', sid: sb.session.id, live: true });
    expect((await call('GET', '/auth/admin/sessions?ip=198.51.100.1', { user: admin })).json().items.map((i: { user_id: string }) => i.user_id)).toEqual([a.id]);
    expect((await call('GET', `/auth/admin/sessions?user=${b.id}&device=db`, { user: admin })).json().items).toHaveLength(1);
    const ended = await call('DELETE', `/auth/admin/sessions/${sa.session.id}`, { user: admin });
    expect(ended.statusCode).toBe(204);
    expect(await h.deps.stores.sessions.findById(sa.session.id)).toBeNull();
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'session', sid: sa.session.id }));
    expect((await call('GET', '/auth/admin/sessions?ip=198.51.100.1', { user: admin })).json().items[0].live).toBe(false);
    expect((await call('DELETE', `/auth/admin/sessions/${sa.session.id}`, { user: admin })).statusCode).toBe(404);
    expect((await adminEvents(admin.id)).filter((e) => e.detail?.action === 'sessions.delete').map((e) => e.detail)).toEqual([
      { action: 'sessions.delete', status: 404 },
      { action: 'sessions.delete', target: a.id, status: 204 },
    ]);
    // The user's own activity says an admin ended that device.
    expect((await h.deps.stores.audit.listByUser(a.id, 10)).find((e) => e.type === 'session.removed')?.detail).toMatchObject({ sid: sa.session.id, by: admin.id });
  });

  it('pages the audit log newest first with filters; the export is JSON lines, oldest first, filtered', async () => {
    const u = await makeUser(h, 'audit-user');
    const t0 = h.clock.now();
    const mine: AuditEvent[] = [];
    for (let i = 0; i < 5; i++) {
      const e: AuditEvent = { id: `ev-${i}`, userId: u.id, type: i % 2 === 0 ? 'signin.success' : 'signout', at: t0 - 10_000 + i, ip: '203.0.113.1', deviceId: 'd', userAgent: 'UA', detail: { n: i } };
      mine.push(e);
      await h.deps.stores.audit.append(e);
    }
    const page = (await call('GET', `/auth/admin/audit?user=${u.id}&limit=2`, { user: admin })).json();
    expect(page.items.map((e: { id: string }) => e.id)).toEqual(['ev-4', 'ev-3']);
    expect(page.items[0]).toEqual({ id: 'ev-4', at: new Date(t0 - 10_000 + 4).toISOString(), type: 'signin.success', user_id: u.id, username: 'audit-user', ip: '203.0.113.1', device_id: 'd', user_agent: 'UA', detail: { n: 4 } });
    const next = (await call('GET', `/auth/admin/audit?user=${u.id}&limit=2&cursor=${page.next_cursor}`, { user: admin })).json();
    expect(next.items.map((e: { id: string }) => e.id)).toEqual(['ev-2', 'ev-1']);
    expect((await call('GET', `/auth/admin/audit?type=signout&user=${u.id}`, { user: admin })).json().items.map((e: { id: string }) => e.id)).toEqual(['ev-3', 'ev-1']);
    expect((await call('GET', `/auth/admin/audit?from=${t0 - 10_000 + 1}&to=${t0 - 10_000 + 3}`, { user: admin })).json().items.map((e: { id: string }) => e.id)).toEqual(['ev-2', 'ev-1']);
    expect((await call('GET', '/auth/admin/audit?type=no.such.type', { user: admin })).statusCode).toBe(400);

    const exported = await call('GET', `/auth/admin/audit/export?user=${u.id}&type=signin.success`, { user: admin });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename="gatehouse-audit-\d{4}-\d{2}-\d{2}\.ndjson"$/);
    const lines = exported.body.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['ev-0', 'ev-2', 'ev-4']);
    // Everything, oldest first: the admin's own admin.action events come after the user's.
    const everything = (await call('GET', '/auth/admin/audit/export', { user: admin })).body.trim().split('\n').map((l) => JSON.parse(l) as { at: string; type: string });
    expect(everything.slice(0, 5).map((e) => e.type)).toEqual(['signin.success', 'signout', 'signin.success', 'signout', 'signin.success']);
    expect([...everything].sort((x, y) => x.at.localeCompare(y.at))).toEqual(everything);
    expect(everything.some((e) => e.type === 'admin.action')).toBe(true);
  });

  it('the export streams keyset pages and stops at its line cap', async () => {
    const { exportLines } = await import('./endpoints/admin-audit-export.js');
    for (let i = 0; i < 7; i++) await h.deps.stores.audit.append({ id: `cap-${i}`, userId: null, type: 'signin.failure', at: h.clock.now() + i, ip: null, deviceId: null, userAgent: null, detail: null });
    const chunks: string[] = [];
    for await (const c of exportLines(h.deps, { types: ['signin.failure'] }, 5, 2)) chunks.push(c);
    expect(chunks.map((c) => c.trim().split('\n').length)).toEqual([2, 2, 1]);
    expect(chunks.join('').trim().split('\n').map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['cap-0', 'cap-1', 'cap-2', 'cap-3', 'cap-4']);
  });

  it('lists and rotates the signing keys (what gatehouse keys rotate does)', async () => {
    const before = (await call('GET', '/auth/admin/keys', { user: admin })).json() as Array<{ kid: string; state: string }>;
    expect(before.map((k) => k.state)).toEqual(['active']);
    const after = (await call('POST', '/auth/admin/keys/rotate', { user: admin })).json() as Array<{ kid: string; state: string; retires_at: string | null }>;
    expect(after).toHaveLength(2);
    expect(after.find((k) => k.kid === before[0]!.kid)).toMatchObject({ state: 'active', retires_at: expect.any(String) });
    expect(after.find((k) => k.kid !== before[0]!.kid)).toMatchObject({ state: 'next', retires_at: null });
    expect(JSON.stringify(after)).not.toMatch(/"d"|private/i);
    // The keyring knows the new key at once (published before it signs).
    expect(h.deps.keyring.jwks().keys).toHaveLength(2);
  });

  it('adds, lists and removes OAuth clients (a confidential secret shown once)', async () => {
    const added = await call('POST', '/auth/admin/clients', { user: admin }, { client_id: 'reports', name: 'Reports', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'] });
    expect(added.statusCode).toBe(201);
    const secret = added.json().secret as string;
    expect(secret.length).toBeGreaterThan(20);
    expect(added.json().client).toMatchObject({ client_id: 'reports', type: 'confidential', service: 'reports', secrets: [{ not_after: null }] });
    const pub = await call('POST', '/auth/admin/clients', { user: admin }, { client_id: 'tv-app', name: 'TV', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'] });
    expect(pub.json().secret).toBeNull();
    const list = await call('GET', '/auth/admin/clients', { user: admin });
    expect(list.json().map((c: { client_id: string }) => c.client_id)).toEqual(['reports', 'tv-app']);
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toMatch(/hash/i);
    const dup = await call('POST', '/auth/admin/clients', { user: admin }, { client_id: 'reports', name: 'Again', type: 'public', grants: ['device_code'], scopes: ['notes:read'] });
    expect(dup.statusCode).toBe(400);
    expect(dup.json().detail).toContain('exists already');
    const badGrant = await call('POST', '/auth/admin/clients', { user: admin }, { client_id: 'bad', name: 'Bad', type: 'public', grants: ['client_credentials'], scopes: [] });
    expect(badGrant.statusCode).toBe(400);
    expect((await call('DELETE', '/auth/admin/clients/reports', { user: admin })).statusCode).toBe(204);
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'client', clientId: 'reports' }));
    expect((await call('DELETE', '/auth/admin/clients/reports', { user: admin })).statusCode).toBe(404);
    expect((await call('DELETE', '/auth/admin/clients/gatehouse', { user: admin })).statusCode).toBe(404);
    expect((await call('GET', '/auth/admin/clients', { user: admin })).json().map((c: { client_id: string }) => c.client_id)).toEqual(['tv-app']);
    const logged = JSON.stringify(await h.deps.stores.audit.query({}, { limit: 100, order: 'desc' }));
    expect(logged).not.toContain(secret);
  });
});
