import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieNames } from '../config/cookie-names.js';
import { DEFAULTS } from '../config/defaults.js';
import { issueAccessToken } from '../credentials/access-token.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { startAll, type RunningGatehouse } from '../start/start-all.js';
import type { UserRecord } from '../stores/types.js';
import { createLogger } from '../util/logger.js';
import { declaredRoutes } from './lanes.js';
import { createDeviceSession } from './sessions.js';
import { createAuthHarness, relaxAbuseLimits } from './test-helpers.js';

/*
 * Issue 18: the admin API's lane and CSRF through the real gateway and auth service (startAll,
 * real HTTP hops and passports), as an ADMIN: their API tokens and access tokens are refused on
 * every admin route (403 credential_not_allowed, whatever their scopes), a cookie write without
 * the CSRF token is refused (403 csrf) on every admin write route, and a fresh cookie session
 * is served, the export streamed as JSON lines.
 */

let gh: RunningGatehouse;
let dataDir: string;
let admin: UserRecord;
let routes: Array<{ method: string; route: string }>;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-gw-'));
  const config = structuredClone(DEFAULTS);
  config.port = 0;
  config.dataDir = dataDir;
  config.logLevel = 'silent';
  relaxAbuseLimits(config);
  config.admin.writesPerMinute = 1000;
  gh = await startAll({ config, logger: createLogger('silent') });
  const now = gh.deps.clock.now();
  admin = { id: randomId(), username: 'gw-admin', usernameCanonical: 'gw-admin', passwordHash: '!', roles: ['admin'], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
  await gh.deps.stores.users.create(admin);
  const h = await createAuthHarness();
  try {
    routes = declaredRoutes(h.app).filter((r) => r.url.startsWith('/auth/admin/') && r.method !== 'HEAD').map((r) => ({ method: r.method, route: r.url }));
  } finally {
    await h.close();
  }
}, 30_000);

afterAll(async () => {
  await gh?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function cookieHeaders(options: { authAgeSec?: number } = {}): Promise<{ cookie: string; 'x-csrf-token': string; origin: string }> {
  const { session, secret } = await createDeviceSession(gh.deps, {
    user: admin,
    deviceId: `browser-${randomId().slice(0, 6)}`,
    deviceName: null,
    persistent: true,
    authTime: gh.deps.clock.now() - (options.authAgeSec ?? 0) * 1000,
  });
  return { cookie: `${cookieNames(gh.deps.config).session}=${secret}`, 'x-csrf-token': session.csrfToken, origin: gh.url };
}

/** A body each write route's schema accepts (the schema is checked before the lane). */
function bodyOf(r: { method: string; route: string }): string | undefined {
  if (r.method === 'GET') return undefined;
  if (r.route === '/auth/admin/users/:id/roles') return JSON.stringify({ roles: ['admin'] });
  if (r.route === '/auth/admin/clients' && r.method === 'POST') return JSON.stringify({ client_id: 'gw-client', name: 'GW', type: 'public', grants: ['device_code'], scopes: ['notes:read'] });
  return '{}';
}

function pathOf(route: string): string {
  return route.replace(':id', 'nobody');
}

async function problem(res: Response): Promise<{ code?: string; detail?: string }> {
  const text = await res.text();
  return (res.headers.get('content-type') ?? '').startsWith('application/problem+json') ? (JSON.parse(text) as { code?: string }) : { code: `${res.status} ${text.slice(0, 100)}` };
}

describe('admin API through the gateway', () => {
  it('an admin\'s API tokens and access tokens (with the account scope or not) get 403 credential_not_allowed on every admin route', async () => {
    const tokens: Record<string, string> = {};
    for (const scopes of [['notes:read'], ['account']]) {
      const token = generateApiToken();
      await gh.deps.stores.apiTokens.create({ id: randomId(), userId: admin.id, name: 'admin script', tokenHash: hashSecret(token), scopes, createdAt: gh.deps.clock.now(), expiresAt: null, lastUsedAt: null });
      tokens[`api_token ${scopes.join(' ')}`] = token;
    }
    for (const scope of ['notes:read', 'account notes:read']) {
      const { session } = await createDeviceSession(gh.deps, { user: admin, deviceId: `tv-${scope.length}`, deviceName: null, persistent: true, scope });
      tokens[`access_token ${scope}`] = (await issueAccessToken(gh.deps, { user: admin, session, scope })).token;
    }
    expect(routes.length).toBe(18);
    for (const r of routes) {
      for (const [kind, token] of Object.entries(tokens)) {
        const res = await fetch(gh.url + pathOf(r.route), { method: r.method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(r.method === 'GET' ? {} : { body: bodyOf(r) }) });
        const p = await problem(res);
        expect(`${res.status} ${p.code}`, `${r.method} ${r.route} with ${kind}`).toBe('403 credential_not_allowed');
        expect(p.detail).toContain('browser session only');
      }
    }
    // Nothing was rotated, added or audited as an admin action.
    expect((await gh.deps.stores.keys.list()).length).toBe(1);
    expect(await gh.deps.stores.clients.get('gw-client')).toBeNull();
    expect((await gh.deps.stores.audit.listByUser(admin.id, 100)).filter((e) => e.type === 'admin.action')).toEqual([]);
  }, 60_000);

  it('a cookie write without the CSRF token gets 403 csrf on every admin write route; with it, the admin guard answers', async () => {
    const headers = await cookieHeaders();
    const writes = routes.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(8);
    for (const r of writes) {
      const { 'x-csrf-token': _csrf, ...without } = headers;
      const res = await fetch(gh.url + pathOf(r.route), { method: r.method, headers: { ...without, 'content-type': 'application/json' }, body: bodyOf(r) });
      expect(`${res.status} ${(await problem(res)).code}`, `${r.method} ${r.route}`).toBe('403 csrf');
      const wrong = await fetch(gh.url + pathOf(r.route), { method: r.method, headers: { ...headers, 'x-csrf-token': 'wrong', 'content-type': 'application/json' }, body: bodyOf(r) });
      expect(`${wrong.status} ${(await problem(wrong)).code}`, `${r.method} ${r.route} wrong token`).toBe('403 csrf');
    }
    // With the token: past the gateway, the route itself answers (an unknown id: 404; a body the schema refuses: 400).
    const ok = await fetch(`${gh.url}/auth/admin/users/nobody/disable`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
    expect(`${ok.status} ${(await problem(ok)).code}`).toBe('404 not_found');
    expect((await gh.deps.stores.keys.list()).length).toBe(1);
  }, 60_000);

  it('a fresh cookie session is served (the export streamed as JSON lines); a stale one gets 401 insufficient_user_authentication', async () => {
    const headers = await cookieHeaders();
    const list = await fetch(`${gh.url}/auth/admin/users?q=gw-`, { headers });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: Array<{ username: string }> }).items.map((u) => u.username)).toEqual(['gw-admin']);
    const exported = await fetch(`${gh.url}/auth/admin/audit/export?type=admin.action`, { headers });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; user_id: string; detail: { action: string } });
    expect(lines.map((l) => l.detail.action).slice(-2)).toEqual(['users.list', 'audit.export']);
    expect(lines.every((l) => l.type === 'admin.action' && l.user_id === admin.id)).toBe(true);
    const stale = await fetch(`${gh.url}/auth/admin/users`, { headers: await cookieHeaders({ authAgeSec: 700 }) });
    expect(stale.status).toBe(401);
    expect(await problem(stale)).toMatchObject({ code: 'insufficient_user_authentication', required: 'max_age' });
    expect(stale.headers.get('www-authenticate')).toContain('error="insufficient_user_authentication"');
  }, 30_000);
});
