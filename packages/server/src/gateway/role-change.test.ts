import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../credentials/access-token.js';
import { grantRole, revokeRole } from '../auth/user-admin.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { StoreUnavailableError } from '../errors/index.js';
import type { UserRecord } from '../stores/types.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';

/*
 * Issue 11 item 3 / DESIGN §6: narrowing what a user may do reaches every credential kind within
 * the same bound (`session.cacheTtlMs`, 30 s): a role removed with the code path of
 * `gatehouse users revoke` takes /api/admin from the cookie, the API token AND an access token
 * issued before the change (which used to keep it until it expired, 10 to 60 min).
 */

const BOUND_MS = 30_000;

let h: GatewayHarness;
/** users.findById calls (the access-token hot path must make none in steady state). */
const userReads = { count: 0 };

beforeAll(async () => {
  h = await createGatewayHarness({
    routes: (upstream) => [
      { path: '/api/admin', upstream, service: 'admin', auth: 'required', roles: ['admin'] },
      { path: '/api/home', upstream, service: 'home', auth: 'required' },
    ],
  });
  expect(h.deps.config.session.cacheTtlMs).toBe(BOUND_MS);
  const users = h.deps.stores.users;
  const find = users.findById.bind(users);
  users.findById = (id) => {
    userReads.count++;
    return find(id);
  };
});

afterAll(async () => {
  await h?.close();
});

interface Credentials {
  user: UserRecord;
  cookie: Array<[string, string]>;
  apiToken: Array<[string, string]>;
  accessToken: Array<[string, string]>;
}

/** A user with `roles`, signed in three ways: a cookie, an API token, an access token (password-grant style). */
async function signedInThreeWays(name: string, roles: string[]): Promise<Credentials> {
  const user = await h.createUser(name, roles);
  const browser = await h.signIn(user);
  const token = generateApiToken();
  const now = h.clock.now();
  await h.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'script', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: now, expiresAt: null, lastUsedAt: null });
  const tv = await h.signIn(user, { deviceId: 'tv' });
  const at = await issueAccessToken(h.deps, { user, session: { ...tv.session, scope: 'notes:read' }, scope: 'notes:read' });
  return {
    user,
    cookie: [['Cookie', browser.cookie]],
    apiToken: [['Authorization', `Bearer ${token}`]],
    accessToken: [['Authorization', `Bearer ${at.token}`]],
  };
}

async function statuses(c: Credentials, path = '/api/admin'): Promise<Record<string, number>> {
  return {
    cookie: (await send(h.url, path, { headers: c.cookie })).status,
    api_token: (await send(h.url, path, { headers: c.apiToken })).status,
    access_token: (await send(h.url, path, { headers: c.accessToken })).status,
  };
}

const all = (status: number) => ({ cookie: status, api_token: status, access_token: status });

describe('role changes reach every credential kind within session.cacheTtlMs (30 s)', () => {
  it('users revoke <name> admin: cookie, API token and an access token issued before all lose /api/admin within the bound', async () => {
    const c = await signedInThreeWays('ada', ['admin']);
    expect(await statuses(c)).toEqual(all(200));
    // The token itself still says "admin" (it was issued before the change).
    await revokeRole(h.deps, 'ada', 'admin');
    h.clock.advance(BOUND_MS);
    expect(await statuses(c)).toEqual(all(403));
    // The passport the access token now gets says so too.
    const who = await send(h.url, '/api/home', { headers: c.accessToken });
    expect(who.status).toBe(200);
    const passport = h.upstream.received.at(-1)!.headers['x-passport'] as string;
    expect((await h.verifyPassport(passport, 'home')).roles).toEqual([]);
  });

  it('a role granted reaches an access token within the bound as well (its passport carries the roles the user has now)', async () => {
    const c = await signedInThreeWays('bea', []);
    expect(await statuses(c)).toEqual(all(403));
    await grantRole(h.deps, 'bea', 'admin');
    h.clock.advance(BOUND_MS);
    expect(await statuses(c)).toEqual(all(200));
  });

  it('steady state: repeated access-token requests read no user; one read per user per bound', async () => {
    const c = await signedInThreeWays('cyd', ['admin']);
    expect((await send(h.url, '/api/admin', { headers: c.accessToken })).status).toBe(200);
    const before = userReads.count;
    for (let i = 0; i < 20; i++) expect((await send(h.url, '/api/admin', { headers: c.accessToken })).status).toBe(200);
    h.clock.advance(BOUND_MS - 1);
    expect((await send(h.url, '/api/admin', { headers: c.accessToken })).status).toBe(200);
    expect(userReads.count).toBe(before);
    h.clock.advance(1);
    expect((await send(h.url, '/api/admin', { headers: c.accessToken })).status).toBe(200);
    expect(userReads.count).toBe(before + 1);
  });

  it('user store away: access tokens keep working (DESIGN §4) with the roles last read, else the token\'s own', async () => {
    const known = await signedInThreeWays('dee', ['admin']);
    expect((await send(h.url, '/api/admin', { headers: known.accessToken })).status).toBe(200);
    await revokeRole(h.deps, 'dee', 'admin');
    h.clock.advance(BOUND_MS);
    expect((await send(h.url, '/api/admin', { headers: known.accessToken })).status).toBe(403);
    const never = await signedInThreeWays('eve', ['admin']);

    const users = h.deps.stores.users;
    const find = users.findById;
    users.findById = () => Promise.reject(new StoreUnavailableError('users'));
    try {
      h.clock.advance(BOUND_MS);
      // Last read: no admin; the outage does not give it back.
      expect((await send(h.url, '/api/admin', { headers: known.accessToken })).status).toBe(403);
      expect((await send(h.url, '/api/home', { headers: known.accessToken })).status).toBe(200);
      // Never read: the token's own roles.
      expect((await send(h.url, '/api/admin', { headers: never.accessToken })).status).toBe(200);
      const metrics = await send(h.url, '/metrics');
      expect(metrics.body).toMatch(/gatehouse_degraded_decisions_total\{reason="access_token_user_from_memory"\} [1-9]/);
      expect(metrics.body).toMatch(/gatehouse_degraded_decisions_total\{reason="access_token_user_from_token"\} [1-9]/);
      // A role removed while the store is away...
      await revokeRole(h.deps, 'eve', 'admin');
      await revokeRole(h.deps, 'dee', 'admin').catch(() => undefined);
    } finally {
      users.findById = find;
    }
    // ...reaches the access tokens within a second of the store's return, not a whole bound:
    // what the outage served (the last read, or the token's own roles) is not cached as fresh.
    h.clock.advance(1_000);
    expect((await send(h.url, '/api/admin', { headers: never.accessToken })).status).toBe(403);
    expect((await send(h.url, '/api/admin', { headers: known.accessToken })).status).toBe(403);
  });
});
