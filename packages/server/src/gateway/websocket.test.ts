import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken, issueClientAccessToken } from '../credentials/access-token.js';
import { addClient } from '../credentials/clients.js';
import { grantableScopes } from '../credentials/scope.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import type { UserRecord } from '../stores/types.js';
import { createGatewayHarness, type GatewayHarness, type SignedIn } from './test-helpers.js';
import { closed, nextMessage, openWs, startWsUpstream, until, type WsUpstream } from './websocket.test-helpers.js';

/**
 * Issue 16 part 2: WebSocket upgrades through the in-process gateway to a real `ws` upstream,
 * and live revocation of open sockets and event streams.
 */

const ALLOWED = 'https://app.example.com';
let h: GatewayHarness;
let up: WsUpstream;
let bob: UserRecord;
let draining = false;

beforeAll(async () => {
  up = await startWsUpstream();
  h = await createGatewayHarness({
    config: (c) => {
      c.cors.origins = [ALLOWED];
      // Long enough for every other test (none idles a second), short enough to watch.
      c.gateway.websocketIdleTimeoutMs = 4_000;
    },
    draining: () => draining,
    routes: () => [
      { path: '/api/live', upstream: up.url, service: 'live', auth: 'required' },
      { path: '/api/nows', upstream: up.url, service: 'live', auth: 'required', websocket: false },
      { path: '/api/open', upstream: up.url, service: 'live', auth: 'none' },
      { path: '/api/staff', upstream: up.url, service: 'live', auth: 'required', roles: ['staff'] },
      { path: '/api/svc', upstream: up.url, service: 'live', auth: 'required', clients: ['feeder'] },
    ],
  });
  bob = await h.createUser('bob');
});

afterAll(async () => {
  await h.close();
  await up.close();
});

const own = (): string => new URL(h.url).origin;
const cookieHeaders = (s: SignedIn, origin = own()): Record<string, string> => ({ cookie: s.cookie, origin });
const lastUpgrade = () => up.upgrades.at(-1)!;

async function signOut(s: SignedIn): Promise<void> {
  await h.deps.stores.sessions.delete(s.session.id);
  await h.deps.feed.publish({ type: 'session', sid: s.session.id, at: h.clock.now() });
}

describe('WebSocket upgrades are authenticated like any request', () => {
  it('a cookie upgrade from the own origin is proxied with a passport; messages flow both ways', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(101);
    const seen = lastUpgrade();
    expect(seen.url).toBe('/api/live/chat');
    expect(await h.verifyPassport(seen.headers['x-passport'] as string, 'live')).toMatchObject({ sub: bob.id, auth: 'session' });
    // The session cookie never reaches the upstream.
    expect(String(seen.headers.cookie ?? '')).not.toContain('gatehouse_session');
    o.ws.send('hello');
    expect(await nextMessage(o.ws)).toBe('hello');
    o.ws.close();
  });

  it('no credential: 401 and the upstream never sees the upgrade', async () => {
    const before = up.upgrades.length;
    const o = await openWs(`${h.url}/api/live/chat`, { headers: { origin: own() } });
    expect(o.status).toBe(401);
    expect(JSON.parse(o.body)).toMatchObject({ code: 'unauthenticated' });
    expect(up.upgrades.length).toBe(before);
  });

  it('a cookie upgrade from a foreign origin is refused with 403 (cross-site WebSocket hijacking)', async () => {
    const s = await h.signIn(bob);
    const before = up.upgrades.length;
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s, 'https://evil.example') });
    expect(o.status).toBe(403);
    expect(JSON.parse(o.body)).toMatchObject({ code: 'csrf' });
    expect(up.upgrades.length).toBe(before);
  });

  it('a cookie upgrade from an allow-listed CORS origin passes', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s, ALLOWED) });
    expect(o.status).toBe(101);
    o.ws.close();
  });

  it('a bearer upgrade without Origin passes', async () => {
    const s = await h.signIn(bob);
    const { token } = await issueAccessToken(h.deps, { user: bob, session: s.session, scope: 'notes:read' });
    const o = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect(o.status).toBe(101);
    expect(await h.verifyPassport(lastUpgrade().headers['x-passport'] as string, 'live')).toMatchObject({ sub: bob.id, auth: 'access_token' });
    o.ws.close();
  });

  it('the route policy applies: a missing role is 403', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/staff/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(403);
    expect(JSON.parse(o.body)).toMatchObject({ code: 'forbidden' });
  });

  it('subprotocols and permessage-deflate pass through (negotiated by the upstream)', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s), protocols: ['chat.v2', 'chat.v1'], perMessageDeflate: true });
    expect(o.status).toBe(101);
    expect(lastUpgrade().headers['sec-websocket-protocol']).toBe('chat.v2,chat.v1');
    expect(o.ws.protocol).toBe('chat.v1');
    expect(o.ws.extensions).toContain('permessage-deflate');
    // Compressed frames (RSV1) of every size cross the relay intact.
    for (const size of [10, 200, 70_000, 300_000]) {
      const text = 'x'.repeat(size) + Math.random();
      o.ws.send(text);
      expect(await nextMessage(o.ws)).toBe(text);
    }
    o.ws.close();
  });

  it('the 101 is relayed without hop-by-hop or identity headers, the upgrade ones restated', async () => {
    const s = await h.signIn(bob);
    const raw = await new Promise<string[]>((resolve, reject) => {
      const req = request(`${h.url}/api/live/chat`, {
        headers: { cookie: s.cookie, origin: own(), connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res.rawHeaders);
      });
      req.on('response', (res) => reject(new Error(`status ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    const names = raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    const value = (n: string) => raw[raw.findIndex((x, i) => i % 2 === 0 && x.toLowerCase() === n) + 1];
    expect(value('connection')).toBe('Upgrade');
    expect(value('upgrade')).toBe('websocket');
    expect(value('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(value('x-kept')).toBe('yes');
    for (const dropped of ['x-hop-named', 'keep-alive', 'x-passport']) expect(names).not.toContain(dropped);
    expect(names.filter((n) => n === 'connection')).toHaveLength(1);
  });

  it('a route with websocket: false refuses the upgrade with 403 websocket_disabled', async () => {
    const s = await h.signIn(bob);
    const before = up.upgrades.length;
    const o = await openWs(`${h.url}/api/nows/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(403);
    expect(JSON.parse(o.body)).toMatchObject({ code: 'websocket_disabled' });
    expect(up.upgrades.length).toBe(before);
  });

  it('an auth: none route proxies the upgrade without identity', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/open/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(101);
    expect(lastUpgrade().headers['x-passport']).toBeUndefined();
    o.ws.send('anon');
    expect(await nextMessage(o.ws)).toBe('anon');
    o.ws.close();
  });

  it('another Upgrade (h2c) is ignored: the request is served as an ordinary one', async () => {
    const s = await h.signIn(bob);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${h.url}/api/live/plain`, { headers: { cookie: s.cookie, connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAAQAoAAAAAIAAAAA' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 200, body: 'ok' });
  });

  it('a socket idle for gateway.websocketIdleTimeoutMs is closed with 1001', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(101);
    expect(await closed(o.ws, 20_000)).toEqual({ code: 1001, reason: 'idle timeout' });
  });

  it("the upstream's refusal (404 with a body) is relayed as it is", async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/refuse`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(404);
    expect(o.body).toBe('{"nope":true}');
    expect(o.headers['x-upstream']).toBe('refused');
  });
});

describe('live revocation', () => {
  it('sign-out closes an open WebSocket with 1008 on both sides', async () => {
    const s = await h.signIn(bob);
    const other = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
    const keep = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(other) });
    expect(o.status).toBe(101);
    const upstreamSide = up.sockets.length - 2;
    const end = closed(o.ws);
    await signOut(s);
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
    await until(() => up.closes.some((c) => c.code === 1008));
    expect(up.sockets[upstreamSide]!.readyState).not.toBe(up.sockets[upstreamSide]!.OPEN);
    // Another session of the same user keeps its socket.
    keep.ws.send('still here');
    expect(await nextMessage(keep.ws)).toBe('still here');
    keep.ws.close();
  });

  it('a revoked access token (jti) closes its socket', async () => {
    const s = await h.signIn(bob);
    const { token, jti, expiresIn } = await issueAccessToken(h.deps, { user: bob, session: s.session, scope: 'notes:read' });
    const o = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect(o.status).toBe(101);
    const end = closed(o.ws);
    await h.deps.feed.publish({ type: 'access_token', jti, exp: Math.floor(h.clock.now() / 1000) + expiresIn, at: h.clock.now() });
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
  });

  it('a deleted API token closes its socket', async () => {
    const token = generateApiToken();
    const id = randomId();
    await h.deps.stores.apiTokens.create({ id, userId: bob.id, name: 'ws', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
    const o = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect(o.status).toBe(101);
    const end = closed(o.ws);
    await h.deps.stores.apiTokens.delete(id, bob.id);
    await h.deps.feed.publish({ type: 'api_token', tokenId: id, at: h.clock.now() });
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
  });

  it("a user event (sign-out-all's not-before) closes the user's older access token, re-checking the cookie socket, which lives on", async () => {
    const carl = await h.createUser('carl');
    const s = await h.signIn(carl);
    const { token } = await issueAccessToken(h.deps, { user: carl, session: s.session, scope: 'notes:read' });
    const bearerWs = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: `Bearer ${token}` } });
    const cookieWs = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
    expect([bearerWs.status, cookieWs.status]).toEqual([101, 101]);
    const end = closed(bearerWs.ws);
    h.clock.advance(1000);
    await h.deps.feed.publish({ type: 'user', userId: carl.id, notBefore: h.clock.now(), at: h.clock.now() });
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
    // The session itself was not ended by this event (sign-out-all ends each session by its own event).
    cookieWs.ws.send('after');
    expect(await nextMessage(cookieWs.ws)).toBe('after');
    cookieWs.ws.close();
  });

  it('an access token that expires closes its socket (the expiry wheel)', async () => {
    const s = await h.signIn(bob);
    const { token } = await issueAccessToken(h.deps, { user: bob, session: s.session, scope: 'notes:read' });
    const o = await openWs(`${h.url}/api/live/chat`, { headers: { authorization: `Bearer ${token}` } });
    expect(o.status).toBe(101);
    const end = closed(o.ws);
    h.clock.advance(h.deps.config.tokens.accessTokenTtlSec * 1000 + 1000);
    expect(await end).toEqual({ code: 1008, reason: 'credential expired' });
  });

  it('a session past its absolute lifetime closes its cookie socket (the expiry wheel re-checks it)', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(101);
    const end = closed(o.ws);
    // Touched now and then, a session slides; past its absolute lifetime it ends whatever its use.
    h.clock.advance(h.deps.config.session.absoluteTtlSec * 1000 + 1000);
    expect(await end).toEqual({ code: 1008, reason: 'credential expired' });
  });

  it("a removed client (the `client` revocation) closes its service's socket; a user's socket on the same path lives on", async () => {
    const open = h.gateway.liveConnections();
    await addClient(h.deps.stores.clients, { clientId: 'feeder', name: 'feeder', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'], audiences: [] }, grantableScopes(h.deps.config), h.clock.now());
    const { token } = await issueClientAccessToken(h.deps, { clientId: 'feeder', scope: 'notes:read' });
    const svc = await openWs(`${h.url}/api/svc/feed`, { headers: { authorization: `Bearer ${token}` } });
    const user = await openWs(`${h.url}/api/svc/feed`, { headers: cookieHeaders(await h.signIn(bob)) });
    expect([svc.status, user.status]).toEqual([101, 101]);
    const end = closed(svc.ws);
    await h.deps.feed.publish({ type: 'client', clientId: 'feeder', at: h.clock.now() });
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
    user.ws.send('still here');
    expect(await nextMessage(user.ws)).toBe('still here');
    user.ws.close();
    // Gone from the gateway's live connections before the next test counts them.
    await until(() => h.gateway.liveConnections() === open);
  });

  it('sign-out ends a server-sent event stream; an answer with a length is never registered', async () => {
    const s = await h.signIn(bob);
    const before = h.gateway.liveConnections();
    // A long answer with a Content-Length (half sent, then nothing): not registered.
    const slow = await new Promise<import('node:http').ClientRequest>((resolve, reject) => {
      const req = request(`${h.url}/api/live/slow`, { headers: { cookie: s.cookie } }, (res) => {
        res.once('data', () => resolve(req));
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error('no answer in time')), 10_000);
      req.end();
    });
    expect(h.gateway.liveConnections()).toBe(before);
    const ended = await new Promise<{ events: number; complete: boolean; liveWhileOpen: number }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the stream did not end in time')), 10_000);
      let liveWhileOpen = -1;
      const req = request(`${h.url}/api/live/sse`, { headers: { cookie: s.cookie, accept: 'text/event-stream' } }, (res) => {
        expect(res.statusCode).toBe(200);
        let events = 0;
        res.on('data', (c: Buffer) => {
          events += c.toString().split('\n\n').length - 1;
          if (events >= 3 && liveWhileOpen < 0) {
            liveWhileOpen = h.gateway.liveConnections();
            void signOut(s);
          }
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ events, complete: res.complete, liveWhileOpen });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    expect(ended.liveWhileOpen).toBe(before + 1);
    expect(ended.events).toBeGreaterThanOrEqual(3);
    // Ended cleanly (an EventSource reconnects and meets the 401).
    expect(ended.complete).toBe(true);
    await until(() => up.streams.size === 0);
    expect(h.gateway.liveConnections()).toBe(before);
    slow.destroy();
  });

  it('a new upgrade while the gateway drains gets 503', async () => {
    const s = await h.signIn(bob);
    draining = true;
    try {
      const o = await openWs(`${h.url}/api/live/chat`, { headers: cookieHeaders(s) });
      expect(o.status).toBe(503);
      expect(o.headers['retry-after']).toBe('1');
    } finally {
      draining = false;
    }
  });

  it('the gateway going away closes open sockets with 1001', async () => {
    const s = await h.signIn(bob);
    const o = await openWs(`${h.url}/api/open/chat`, { headers: cookieHeaders(s) });
    expect(o.status).toBe(101);
    const end = closed(o.ws);
    h.gateway.goingAway();
    expect(await end).toEqual({ code: 1001, reason: 'gateway stopping' });
  });
});
