import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteUser, disableUser, enableUser } from '../auth/admin/lifecycle.js';
import { issueAccessToken } from '../credentials/access-token.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import type { UserRecord } from '../stores/types.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';
import { closed, openWs, startWsUpstream, type WsUpstream } from './websocket.test-helpers.js';

/*
 * Issue 18: a disabled user's credentials are refused by the gateway at once (no clock moved: the
 * revocation events, not the cache TTL), each kind: the session cookie, the API token, an access
 * token. Enabling brings the API token back at once (it is kept in the store); sessions and
 * access tokens stay dead. A session a racing sign-in created for a disabled user is refused by
 * its user summary, and so is an API token read fresh from the store.
 */

let h: GatewayHarness;
let ws: WsUpstream;
beforeAll(async () => {
  ws = await startWsUpstream();
  h = await createGatewayHarness({
    routes: (upstream) => [
      { path: '/api/home', upstream, service: 'home', auth: 'required' },
      { path: '/api/live', upstream: ws.url, service: 'live', auth: 'required' },
    ],
  });
});
afterAll(async () => {
  await h?.close();
  await ws?.close();
});

interface Credentials {
  user: UserRecord;
  cookie: Array<[string, string]>;
  apiToken: Array<[string, string]>;
  accessToken: Array<[string, string]>;
}

async function apiTokenFor(user: UserRecord): Promise<Array<[string, string]>> {
  const token = generateApiToken();
  await h.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'script', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
  return [['Authorization', `Bearer ${token}`]];
}

let n = 0;
async function signedInThreeWays(): Promise<Credentials> {
  const user = await h.createUser(`dis-${++n}`);
  const browser = await h.signIn(user);
  const tv = await h.signIn(user, { deviceId: 'tv' });
  const at = await issueAccessToken(h.deps, { user, session: { ...tv.session, scope: 'notes:read' }, scope: 'notes:read' });
  return { user, cookie: [['Cookie', browser.cookie]], apiToken: await apiTokenFor(user), accessToken: [['Authorization', `Bearer ${at.token}`]] };
}

async function statuses(c: Credentials): Promise<Record<string, number>> {
  return {
    cookie: (await send(h.url, '/api/home', { headers: c.cookie })).status,
    api_token: (await send(h.url, '/api/home', { headers: c.apiToken })).status,
    access_token: (await send(h.url, '/api/home', { headers: c.accessToken })).status,
  };
}

describe('a disabled user at the gateway', () => {
  it('every credential kind, cached, is refused at once; after enable the API token works again at once, the rest stay dead', async () => {
    const c = await signedInThreeWays();
    expect(await statuses(c)).toEqual({ cookie: 200, api_token: 200, access_token: 200 });
    await disableUser(h.deps, c.user.id, { adminId: null });
    expect(await statuses(c)).toEqual({ cookie: 401, api_token: 401, access_token: 401 });
    // Still refused once the cache would have re-read.
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect(await statuses(c)).toEqual({ cookie: 401, api_token: 401, access_token: 401 });
    await enableUser(h.deps, c.user.id, { adminId: null });
    expect(await statuses(c)).toEqual({ cookie: 401, api_token: 200, access_token: 401 });
  });

  it('a session a racing sign-in made for a disabled user, and an API token read fresh, are refused by the user summary; enable: both work', async () => {
    const user = await h.createUser(`race-${++n}`);
    const now = h.clock.now();
    await h.deps.stores.users.setDisabled(user.id, now, now);
    const session = await h.signIn(user);
    const c = { user, cookie: [['Cookie', session.cookie]] as Array<[string, string]>, apiToken: await apiTokenFor(user), accessToken: [] as Array<[string, string]> };
    expect((await statuses(c)).cookie).toBe(401);
    expect((await statuses(c)).api_token).toBe(401);
    // Refused from memory while cached (no store read per request), not remembered as unknown.
    const reads = h.sessionReads.count;
    expect((await send(h.url, '/api/home', { headers: c.cookie })).status).toBe(401);
    expect(h.sessionReads.count).toBe(reads);
    await enableUser(h.deps, user.id, { adminId: null });
    expect((await send(h.url, '/api/home', { headers: c.apiToken })).status).toBe(200);
    // The session was not ended by this enable (setDisabled was the store's alone): it works too.
    expect((await send(h.url, '/api/home', { headers: c.cookie })).status).toBe(200);
  });

  it('delete: every credential refused at once and for good', async () => {
    const c = await signedInThreeWays();
    expect(await statuses(c)).toEqual({ cookie: 200, api_token: 200, access_token: 200 });
    await deleteUser(h.deps, c.user.id, { adminId: null });
    expect(await statuses(c)).toEqual({ cookie: 401, api_token: 401, access_token: 401 });
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect(await statuses(c)).toEqual({ cookie: 401, api_token: 401, access_token: 401 });
  });

  it('an open WebSocket of the user (API token, cookie) is closed at the disable', async () => {
    const c = await signedInThreeWays();
    const origin = new URL(h.url).origin;
    const byToken = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: c.apiToken[0]![1] } });
    const byCookie = await openWs(`${h.url}/api/live/chat`, { headers: { cookie: c.cookie[0]![1], origin } });
    expect([byToken.status, byCookie.status]).toEqual([101, 101]);
    const ends = [closed(byToken.ws), closed(byCookie.ws)];
    await disableUser(h.deps, c.user.id, { adminId: null });
    expect(await Promise.all(ends)).toEqual([
      { code: 1008, reason: 'credential revoked' },
      { code: 1008, reason: 'credential revoked' },
    ]);
  });
});
