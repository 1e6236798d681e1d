import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPending } from '../auth/pending-revocations.js';
import { REVOKED_HEADER } from '../credentials/revocation.js';
import { hashSecret, randomId, randomSecret } from '../crypto/secrets.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { createRequestPathRedis, whenRedisReady } from '../stores/redis/redis-client.js';
import { RedisHotCache } from '../stores/redis/redis-hot-cache.js';
import { RedisPendingRevocations } from '../stores/redis/redis-pending-revocations.js';
import type { RevocationEvent } from '../stores/types.js';
import { requireRedisServerBinary } from '../stores/postgres/test-env.test-helpers.js';
import { PrivateRedis } from '../stores/redis/redis-server.test-helpers.js';
import { createGateway, type Gateway } from './gateway.js';
import { RevocationSet } from './revocation-set.js';
import { createGatewayHarness, send, type GatewayHarness, type SignedIn } from './test-helpers.js';

// Issue 11 items 13 and 17 inside one process: the gateway that proxied a sign-out drops the
// credential before it relays the answer, and revocations taken while PostgreSQL was away
// (pending, in Redis) are refused by a freshly started gateway and applied to the store
// idempotently, for the user who asked only. The multi-process version with a PostgreSQL that
// is really stopped is test/scale-out/revocation-outage.test.ts.

const api = (upstream: string) => [{ path: '/api/notes', upstream, service: 'notes', auth: 'required' as const }];
const get = (base: string, s: SignedIn) => send(base, '/api/notes', { headers: [['cookie', s.cookie]] });
const signOut = (base: string, s: SignedIn) =>
  send(base, '/auth/signout', { method: 'POST', body: '{}', headers: [['cookie', s.cookie], ['x-csrf-token', s.session.csrfToken], ['content-type', 'application/json']] });

describe('the gateway that proxied a revocation drops it before relaying the answer (issue 11 item 17)', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await createGatewayHarness({ routes: api });
  });
  afterAll(async () => {
    await h.close();
  });

  it('a 204 from the auth service naming the session: the very next request with that cookie is 401; the header never reaches the client', async () => {
    const s = await h.signIn(await h.createUser('item17'));
    expect((await get(h.url, s)).status).toBe(200); // cached on this gateway
    // The auth service here says what it ended but publishes nothing on the feed.
    h.auth.respond = (_rec, res) => {
      res.writeHead(204, { [REVOKED_HEADER]: JSON.stringify([{ type: 'session', sid: s.session.id, at: h.clock.now() }]) });
      res.end();
    };
    const out = await signOut(h.url, s);
    h.auth.respond = null;
    expect(out.status).toBe(204);
    expect(out.headers[REVOKED_HEADER]).toBeUndefined();
    expect((await get(h.url, s)).status).toBe(401);
  });

  it('the header from another upstream, on an auth error, or malformed, is dropped unread', async () => {
    const s = await h.signIn(await h.createUser('forged'));
    expect((await get(h.url, s)).status).toBe(200);
    const naming = JSON.stringify([{ type: 'session', sid: s.session.id, at: h.clock.now() }]);
    h.upstream.respond = (_rec, res) => {
      res.writeHead(200, { 'content-type': 'application/json', [REVOKED_HEADER]: naming });
      res.end('{}');
    };
    const fromService = await get(h.url, s);
    h.upstream.respond = null;
    expect(fromService.status).toBe(200);
    expect(fromService.headers[REVOKED_HEADER]).toBeUndefined();
    expect((await get(h.url, s)).status).toBe(200);

    // Sent by a client: ignored, and relayed to no upstream (the auth service included).
    const fromClient = await send(h.url, '/api/notes', { headers: [['cookie', s.cookie], [REVOKED_HEADER, naming]] });
    expect(fromClient.status).toBe(200);
    expect(h.upstream.received.at(-1)!.headers[REVOKED_HEADER]).toBeUndefined();
    await send(h.url, '/auth/me', { headers: [['cookie', s.cookie], [REVOKED_HEADER, naming]] });
    expect(h.auth.received.at(-1)!.headers[REVOKED_HEADER]).toBeUndefined();
    expect((await get(h.url, s)).status).toBe(200);

    for (const [status, value] of [
      [400, naming],
      [204, 'not json'],
      [204, JSON.stringify([{ type: 'session', sid: 42 }])],
    ] as const) {
      h.auth.respond = (_rec, res) => {
        res.writeHead(status, { [REVOKED_HEADER]: value });
        res.end();
      };
      const r = await signOut(h.url, s);
      h.auth.respond = null;
      expect(r.status).toBe(status);
      expect(r.headers[REVOKED_HEADER]).toBeUndefined();
      expect((await get(h.url, s)).status, `after a ${status} with ${value}`).toBe(200);
    }
  });

  it("another user naming a session during an outage never lifts its owner's own pending sign-out", async () => {
    const victim = await h.createUser('lift-victim');
    const attacker = await h.createUser('lift-attacker');
    const s = await h.signIn(victim);
    expect((await get(h.url, s)).status).toBe(200); // cached on this gateway
    // The victim signs out while PostgreSQL is away (pending, owned by the victim), then the
    // attacker, who learnt the session id (every upstream sees `sid`), "remote-signs-out" it.
    await h.deps.feed.publish({ type: 'session', sid: s.session.id, userId: victim.id, at: h.clock.now(), pending: true });
    await h.deps.feed.publish({ type: 'session', sid: s.session.id, userId: attacker.id, at: h.clock.now() + 1, pending: true });
    expect((await get(h.url, s)).status).toBe(401);
  });

  it('owners of pending revocations add up: neither a pending claim nor an applied copy naming another user lifts a refusal', async () => {
    const set = new RevocationSet(h.deps);
    try {
      await set.whenReady();
      const now = h.clock.now();
      const iat = Math.floor(now / 1000);
      const [a, b] = ['user-a', 'user-b'];
      set.record({ type: 'session', sid: 'sid-b', userId: b, at: now, pending: true });
      set.record({ type: 'api_token', tokenId: 'tok-b', userId: b, at: now, pending: true });
      set.record({ type: 'session', sid: 'sid-b', userId: a, at: now + 1, pending: true });
      set.record({ type: 'api_token', tokenId: 'tok-b', userId: a, at: now + 1, pending: true });
      expect(set.sessionEnded('sid-b', now, b)).toBe(true);
      expect(set.accessTokenRevoked('sid-b', b, iat, 'jti-b', now)).toBe(true);
      expect(set.apiTokenRevoked('tok-b', now, b)).toBe(true);
      // The applied copies come back in the order of `at`: the victim's, then the attacker's.
      for (const userId of [b, a]) {
        set.record({ type: 'session', sid: 'sid-b', userId, at: now + 5 });
        set.record({ type: 'api_token', tokenId: 'tok-b', userId, at: now + 5 });
      }
      expect(set.accessTokenRevoked('sid-b', b, iat, 'jti-b', now + 10)).toBe(true);
      expect(set.apiTokenRevoked('tok-b', now + 10, b)).toBe(true);
      // An id only the attacker named refuses nothing of anyone else's.
      set.record({ type: 'session', sid: 'sid-c', userId: a, at: now, pending: true });
      expect(set.sessionEnded('sid-c', now, 'user-c')).toBe(false);
    } finally {
      set.close();
    }
  });
});

const redisOk = await requireRedisServerBinary();

describe.skipIf(!redisOk)('pending revocations (taken while PostgreSQL was away)', () => {
  const redis = new PrivateRedis();
  let client: Redis;
  let pending: RedisPendingRevocations;
  let h: GatewayHarness;
  const servers: Array<{ server: Server; gateway: Gateway }> = [];

  /** A gateway started now on the same stores: empty memory, warm-up from the store and Redis. */
  async function freshGateway(): Promise<string> {
    const gateway = createGateway(h.deps, { authUrl: h.auth.url, routes: api(h.upstream.url) });
    const server = createServer(gateway.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push({ server, gateway });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    await redis.start();
    client = createRequestPathRedis({ url: redis.url, commandTimeoutMs: 1000 });
    expect(await whenRedisReady(client, 5000)).toBe(true);
    pending = new RedisPendingRevocations({ client, key: `test:pending:${randomId()}` });
    h = await createGatewayHarness({ routes: api, deps: (d) => (d.pendingRevocations = pending) });
  });
  afterAll(async () => {
    for (const { server, gateway } of servers) {
      await gateway.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await h?.close();
    client?.disconnect();
    await redis.kill();
  });

  it("a pending sign-out-all also refuses an access token of its own second (nothing can be minted after it while the store is away); its applied copy brings the usual second back", async () => {
    const set = new RevocationSet(h.deps);
    try {
      await set.whenReady();
      const now = h.clock.now();
      const sec = Math.floor(now / 1000);
      set.record({ type: 'user', userId: 'u-all', notBefore: now, at: now, sessions: true, pending: true });
      expect(set.accessTokenRevoked('sid-1', 'u-all', sec, 'jti-1', now)).toBe(true);
      expect(set.accessTokenRevoked('sid-1', 'u-all', sec - 1, 'jti-1', now)).toBe(true);
      // Applied: that session's id is refused on its own (applyPending), and a token minted in
      // the same second after the sign-out-all (a sign-in right after it) works again.
      set.record({ type: 'user', userId: 'u-all', notBefore: now, at: now, sessions: true });
      expect(set.accessTokenRevoked('sid-2', 'u-all', sec, 'jti-2', now + 10)).toBe(false);
      expect(set.accessTokenRevoked('sid-2', 'u-all', sec - 1, 'jti-2', now + 10)).toBe(true);
    } finally {
      set.close();
    }
  });

  it('a gateway started while a sign-out waits in Redis refuses the cookie, though the store still has the session; only for the user it names', async () => {
    const user = await h.createUser('pending-signout');
    const s = await h.signIn(user);
    const other = await h.signIn(await h.createUser('pending-forged'));
    await pending.add({ type: 'session', sid: s.session.id, userId: user.id, at: h.clock.now(), pending: true });
    // Names another user than the session's: refuses nothing.
    await pending.add({ type: 'session', sid: other.session.id, userId: user.id, at: h.clock.now(), pending: true });
    const base = await freshGateway();
    expect(await h.deps.stores.sessions.findById(s.session.id)).not.toBeNull();
    expect((await get(base, s)).status).toBe(401);
    expect((await get(base, other)).status).toBe(200);
  });

  it('a pending sign-out-all refuses every session started before it, not one started after, and is held past the usual memory', async () => {
    const user = await h.createUser('pending-all');
    const before = await h.signIn(user, { deviceId: 'old' });
    expect((await get(h.url, before)).status).toBe(200);
    h.clock.advance(2000);
    // One signed in during the very second of the sign-out-all, just before it.
    h.clock.advance(1000 - (h.clock.now() % 1000) + 100);
    const sameSecond = await h.signIn(user, { deviceId: 'same-second' });
    expect((await get(h.url, sameSecond)).status).toBe(200);
    h.clock.advance(500);
    const now = h.clock.now();
    await h.deps.feed.publish({ type: 'user', userId: user.id, notBefore: now, at: now, sessions: true, pending: true });
    h.clock.advance(1000);
    const after = await h.signIn(user, { deviceId: 'new' });
    expect((await get(h.url, before)).status).toBe(401);
    expect((await get(h.url, sameSecond)).status).toBe(401);
    expect((await get(h.url, after)).status).toBe(200);
    // An applied revocation is forgotten after the access-token lifetime + 1 min; a pending one
    // is held (the store still has the session).
    h.clock.advance((h.deps.config.tokens.accessTokenTtlSec + 120) * 1000);
    expect((await get(h.url, before)).status).toBe(401);
  });

  it("another user's pending revocation naming a session or API token leaves its owner's shared hot copy alone", async () => {
    const prefix = `test:hot:${randomId()}:`;
    const h2 = await createGatewayHarness({
      routes: api,
      deps: (d) => {
        d.pendingRevocations = pending;
        d.hotCache = new RedisHotCache({ client, url: redis.url, prefix });
      },
    });
    try {
      const victim = await h2.createUser('hot-victim');
      const attacker = await h2.createUser('hot-attacker');
      const s = await h2.signIn(victim);
      const token = generateApiToken();
      const tokenId = randomId();
      await h2.deps.stores.apiTokens.create({ id: tokenId, userId: victim.id, name: 't', tokenHash: hashSecret(token), scopes: [], createdAt: h2.clock.now(), expiresAt: null, lastUsedAt: null });
      const sessionKey = `${prefix}s:${s.session.tokenHash}`;
      const tokenKey = `${prefix}k:${hashSecret(token)}`;
      const bearer = () => send(h2.url, '/api/notes', { headers: [['authorization', `Bearer ${token}`]] });
      expect((await get(h2.url, s)).status).toBe(200);
      expect((await bearer()).status).toBe(200);
      // The hot copies are written in the background.
      for (let i = 0; i < 100 && (await client.exists(sessionKey, tokenKey)) < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(await client.exists(sessionKey, tokenKey)).toBe(2);

      // During an outage the attacker names the victim's ids: a gateway that has not cached the
      // victim would need the hot copy to serve them (PostgreSQL is away), so it must stay.
      const at = h2.clock.now();
      await h2.deps.feed.publish({ type: 'session', sid: s.session.id, userId: attacker.id, at, pending: true });
      await h2.deps.feed.publish({ type: 'api_token', tokenId, userId: attacker.id, at, pending: true });
      expect(await client.exists(sessionKey, tokenKey)).toBe(2); // the same connection: after any DEL sent
      expect((await get(h2.url, s)).status).toBe(200);
      expect((await bearer()).status).toBe(200);

      // The victim's own: the shared copies go (and the credentials are refused).
      await h2.deps.feed.publish({ type: 'session', sid: s.session.id, userId: victim.id, at: at + 1, pending: true });
      await h2.deps.feed.publish({ type: 'api_token', tokenId, userId: victim.id, at: at + 1, pending: true });
      expect(await client.exists(sessionKey, tokenKey)).toBe(0);
      expect((await get(h2.url, s)).status).toBe(401);
      expect((await bearer()).status).toBe(401);
    } finally {
      for (const e of await pending.list()) await pending.remove(e);
      await h2.close();
    }
  });

  it('the pending store refuses beyond its bound, saying nothing was revoked', async () => {
    const small = new RedisPendingRevocations({ client, key: `test:pending:${randomId()}`, maxEntries: 2 });
    const ev = (sid: string, at = 1): RevocationEvent => ({ type: 'session', sid, userId: 'u', at, pending: true });
    await small.add(ev('a'));
    await small.add(ev('b'));
    await small.add(ev('b', 2)); // the same sign-out retried (a later `at`): still two
    await expect(small.add(ev('c'))).rejects.toMatchObject({ code: 'unavailable', status: 503, detail: expect.stringMatching(/nothing was revoked/) });
    expect((await small.list()).map((e) => (e.type === 'session' ? e.sid : ''))).toEqual(['a', 'b']);
  });

  it('replays take no room: the same revocation asked again many times holds one entry', async () => {
    const store = new RedisPendingRevocations({ client, key: `test:pending:${randomId()}`, maxEntries: 3 });
    for (let at = 1; at <= 20; at++) {
      await store.add({ type: 'session', sid: 's1', userId: 'u', at, pending: true });
      await store.add({ type: 'api_token', tokenId: 'k1', userId: 'u', at, pending: true });
      await store.add({ type: 'access_token', jti: 'j1', exp: 999, at, pending: true });
    }
    const held = await store.list();
    expect(held.map((e) => e.type).sort()).toEqual(['access_token', 'api_token', 'session']);
    expect(held.every((e) => e.at === 20)).toBe(true); // the latest copy
  });

  it('one user cannot fill the bound and so refuse the sign-outs of others; two users naming one session keep an entry each', async () => {
    const key = `test:pending:${randomId()}`;
    const store = new RedisPendingRevocations({ client, key, maxEntries: 10, maxPerUser: 3 });
    const ev = (sid: string, userId: string): RevocationEvent => ({ type: 'session', sid, userId, at: 1, pending: true });
    for (const sid of ['x1', 'x2', 'x3']) await store.add(ev(sid, 'mallory'));
    await expect(store.add(ev('x4', 'mallory'))).rejects.toMatchObject({ code: 'unavailable', status: 503, detail: expect.stringMatching(/your revocations.*nothing was revoked/) });
    await expect(store.add({ type: 'api_token', tokenId: 'k', userId: 'mallory', at: 1, pending: true })).rejects.toMatchObject({ status: 503 });
    await expect(store.add({ type: 'user', userId: 'mallory', notBefore: 5, at: 5, sessions: true, pending: true })).rejects.toMatchObject({ status: 503 });
    await store.add(ev('x1', 'mallory')); // a retry of one held still fits
    // Someone else's sign-out, even of the session id mallory named, still fits, and is its own entry.
    await store.add(ev('x1', 'bob'));
    expect((await store.list()).filter((e) => e.type === 'session' && e.sid === 'x1').map((e) => (e.type === 'session' ? e.userId : ''))).toEqual(
      expect.arrayContaining(['mallory', 'bob']),
    );
    // Applied and forgotten: the user's room comes back.
    await store.remove(ev('x2', 'mallory'));
    await store.add(ev('x4', 'mallory'));
    for (const e of await store.list()) await store.remove(e);
    expect(await client.exists(key, `${key}:per-user`)).toBe(0);
  });

  it('applyPending ends what was asked in the store, for the user who asked only, idempotently, then forgets it in Redis', async () => {
    const { stores } = h.deps;
    const alice = await h.createUser('apply-alice');
    const bob = await h.createUser('apply-bob');
    const a1 = await h.signIn(alice, { deviceId: 'a1' });
    const b1 = await h.signIn(bob, { deviceId: 'b1' });
    const tokenId = randomId();
    const secret = randomSecret();
    await stores.apiTokens.create({ id: tokenId, userId: alice.id, name: 't', tokenHash: hashSecret(secret), scopes: [], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
    const a2 = await h.signIn(alice, { deviceId: 'a2' });
    h.clock.advance(2000);
    const at = h.clock.now();
    h.clock.advance(2000);
    const a3 = await h.signIn(alice, { deviceId: 'a3' }); // after the sign-out-all
    const events: RevocationEvent[] = [
      { type: 'session', sid: a1.session.id, userId: alice.id, at, pending: true },
      { type: 'session', sid: b1.session.id, userId: alice.id, at, pending: true }, // not alice's
      { type: 'api_token', tokenId, userId: alice.id, at, pending: true },
      { type: 'user', userId: alice.id, notBefore: at, at, sessions: true, pending: true },
    ];
    for (const e of await pending.list()) await pending.remove(e); // the earlier tests'
    for (const e of events) await pending.add(e);
    expect(await pending.list()).toHaveLength(4);
    const logBefore = (await stores.revocations.since(0)).length;
    for (const e of await pending.list()) await applyPending(h.deps, e);
    for (const e of events) await applyPending(h.deps, e); // again: changes nothing more
    expect(await pending.list()).toEqual([]);
    expect(await stores.sessions.findById(a1.session.id)).toBeNull();
    expect(await stores.sessions.findById(a2.session.id)).toBeNull();
    expect(await stores.sessions.findById(a3.session.id)).not.toBeNull();
    expect(await stores.sessions.findById(b1.session.id)).not.toBeNull();
    expect(await stores.apiTokens.findByHash(hashSecret(secret))).toBeNull();
    const log = (await stores.revocations.since(0)).slice(logBefore);
    expect(log.every((e) => e.pending === undefined)).toBe(true);
    expect(log.map((e) => e.type).sort()).toEqual(expect.arrayContaining(['api_token', 'session', 'user']));
    // Each session the sign-out-all ended is named by its id too (an access token issued in the
    // not-before's own second passes the not-before, and is refused by its sid).
    expect(log.filter((e) => e.type === 'session' && e.userId === undefined).map((e) => (e.type === 'session' ? e.sid : ''))).toContain(a2.session.id);
    // A gateway started now knows them from the store's log.
    const base = await freshGateway();
    expect((await get(base, a3)).status).toBe(200);
    expect((await get(base, b1)).status).toBe(200);
  });
});
