import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../crypto/secrets.js';
import { issueClientAccessToken, verifyAccessToken, verifyClientAccessToken } from '../credentials/access-token.js';
import { resolveApiToken } from '../credentials/api-token.js';
import { createAuthHarness, leakingBodies, mintPassport, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
let xena: string;
const CLIENT_SECRET = 'introspection-secret-of-the-notes-service';
const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

beforeAll(async () => {
  h = await createAuthHarness();
  h.deps.config.introspection.clients = [
    { id: 'other', secretSha256: hashSecret('something-else') },
    { id: 'notes', secretSha256: hashSecret(CLIENT_SECRET) },
  ];
  xena = (await signup(h.app, 'xena')).json().id as string;
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
}

async function grant(deviceId: string): Promise<TokenAnswer> {
  const res = await h.app.inject({
    method: 'POST',
    url: '/auth/token',
    payload: { grant_type: 'password', username: 'xena', password: STRONG_PASSWORD, device_id: deviceId },
  });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json();
}

async function apiToken(): Promise<{ id: string; token: string }> {
  const headers = { 'x-passport': await mintPassport(h.deps, { sub: xena, username: 'xena', roles: [], auth: 'session', sid: 's', did: 'd' }) };
  const res = await h.app.inject({ method: 'POST', url: '/auth/api-tokens', headers, payload: { name: 'script', scopes: ['notes:read'], expires_in: 3600 } });
  return res.json();
}

function revoke(token: string | undefined, form = true, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const params: Record<string, string> = { ...(token === undefined ? {} : { token }), ...extra };
  return form
    ? h.app.inject({ method: 'POST', url: '/auth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() })
    : h.app.inject({ method: 'POST', url: '/auth/revoke', payload: params });
}

function introspect(token: string, authorization: string | null = basic('notes', CLIENT_SECRET), form = true): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  return form
    ? h.app.inject({ method: 'POST', url: '/auth/introspect', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token }).toString() })
    : h.app.inject({ method: 'POST', url: '/auth/introspect', headers, payload: { token } });
}

async function active(token: string): Promise<Record<string, unknown>> {
  const res = await introspect(token);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

describe('POST /auth/revoke (RFC 7009)', () => {
  it('a refresh token ends its device session (revoked on the feed); form and JSON', async () => {
    const t = await grant('rv-1');
    const { sid } = await verifyAccessToken(h.deps, t.access_token);
    const res = await revoke(t.refresh_token);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(await h.deps.stores.sessions.findById(sid)).toBeNull();
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'session', sid }));
    const again = await h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: t.refresh_token } });
    expect(again.json().error).toBe('invalid_grant');

    const t2 = await grant('rv-2');
    expect((await revoke(t2.refresh_token, false, { token_type_hint: 'refresh_token' })).statusCode).toBe(200);
    expect(await h.deps.stores.sessions.findById((await verifyAccessToken(h.deps, t2.access_token)).sid)).toBeNull();
  });

  it('an access token is revoked by jti until it expires: published and stored; its session lives on', async () => {
    const t = await grant('rv-3');
    const c = await verifyAccessToken(h.deps, t.access_token);
    const before = h.events.length;
    expect((await revoke(t.access_token, true, { token_type_hint: 'access_token' })).statusCode).toBe(200);
    const event = { type: 'access_token', jti: c.jti, exp: c.exp, at: h.clock.now() };
    expect(h.events.slice(before)).toEqual([event]);
    expect(await h.deps.stores.revocations.since(h.clock.now() - 1)).toContainEqual(event);
    expect(await h.deps.stores.sessions.findById(c.sid)).not.toBeNull();
  });

  it('a service client\'s token (client credentials) is revoked by jti like an access token', async () => {
    const { token } = await issueClientAccessToken(h.deps, { clientId: 'billing', scope: 'notes:read' });
    const c = await verifyClientAccessToken(h.deps, token);
    const before = h.events.length;
    expect((await revoke(token)).statusCode).toBe(200);
    const event = { type: 'access_token', jti: c.jti, exp: c.exp, at: h.clock.now() };
    expect(h.events.slice(before)).toEqual([event]);
    expect(await h.deps.stores.revocations.since(h.clock.now() - 1)).toContainEqual(event);
  });

  it('an API token is deleted and an api_token revocation published', async () => {
    const a = await apiToken();
    const before = h.events.length;
    expect((await revoke(a.token)).statusCode).toBe(200);
    expect(h.events.slice(before)).toEqual([{ type: 'api_token', tokenId: a.id, at: h.clock.now() }]);
    expect(await resolveApiToken(h.deps, a.token)).toBeNull();
  });

  it('unknown, malformed or foreign tokens: 200 and nothing happens; a missing token: 400 invalid_request', async () => {
    const before = h.events.length;
    for (const token of ['nonsense', `ghr_${'A'.repeat(43)}`, 'a.b.c', await mintPassport(h.deps, { sub: xena, username: 'xena', roles: [] })]) {
      expect((await revoke(token)).statusCode).toBe(200);
    }
    expect(h.events.length).toBe(before);
    const missing = await revoke(undefined);
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'invalid_request' });
    const unknownParam = await revoke('x', true, { foo: 'bar' });
    expect(unknownParam.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('POST /auth/introspect (RFC 7662)', () => {
  it('401 invalid_client with WWW-Authenticate Basic without, or with wrong, client credentials', async () => {
    const t = await grant('in-auth');
    for (const auth of [null, basic('notes', 'wrong'), basic('nobody', CLIENT_SECRET), basic('other', CLIENT_SECRET), 'Bearer x', 'Basic !!!']) {
      const res = await introspect(t.access_token, auth);
      expect(res.statusCode, String(auth)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
      expect(res.json()).toMatchObject({ error: 'invalid_client' });
      expect(res.body).not.toContain('"active"');
    }
    // Credentials in the body work too (client_secret_post), but not both at once.
    const post = await h.app.inject({ method: 'POST', url: '/auth/introspect', payload: { token: t.access_token, client_id: 'notes', client_secret: CLIENT_SECRET } });
    expect(post.json()).toMatchObject({ active: true });
    const both = await h.app.inject({
      method: 'POST',
      url: '/auth/introspect',
      headers: { authorization: basic('notes', CLIENT_SECRET) },
      payload: { token: t.access_token, client_id: 'notes', client_secret: CLIENT_SECRET },
    });
    expect(both.statusCode).toBe(400);
  });

  it('nobody may introspect when no client is configured', async () => {
    const saved = h.deps.config.introspection.clients;
    h.deps.config.introspection.clients = [];
    try {
      const res = await introspect('anything');
      expect(res.statusCode).toBe(401);
    } finally {
      h.deps.config.introspection.clients = saved;
    }
  });

  it('an active access token (form and JSON); inactive once revoked, once its session ends, once expired', async () => {
    const t = await grant('in-at');
    const c = await verifyAccessToken(h.deps, t.access_token);
    const info = await active(t.access_token);
    expect(info).toEqual({
      active: true,
      token_type: 'access_token',
      sub: xena,
      username: 'xena',
      scope: 'notes:read notes:write',
      exp: c.exp,
      iat: c.iat,
      client_id: 'gatehouse',
      sid: c.sid,
      did: 'in-at',
      jti: c.jti,
      iss: c.iss,
      aud: c.aud,
    });
    expect((await introspect(t.access_token, undefined, false)).json()).toMatchObject({ active: true });
    await revoke(t.access_token);
    expect(await active(t.access_token)).toEqual({ active: false });

    const t2 = await grant('in-at-2');
    await h.app.inject({ method: 'DELETE', url: `/auth/sessions/${(await verifyAccessToken(h.deps, t2.access_token)).sid}`, headers: { 'x-passport': await mintPassport(h.deps, { sub: xena, username: 'xena', roles: [] }) } });
    expect(await active(t2.access_token)).toEqual({ active: false });

    const t3 = await grant('in-at-3');
    expect(await active(t3.access_token)).toMatchObject({ active: true });
    h.clock.advance(700_000);
    expect(await active(t3.access_token)).toEqual({ active: false });
  });

  it('a refresh token is active while current; a rotated one or one of an ended session is not', async () => {
    const t = await grant('in-rt');
    const c = await verifyAccessToken(h.deps, t.access_token);
    expect(await active(t.refresh_token)).toMatchObject({ active: true, token_type: 'refresh_token', sub: xena, username: 'xena', sid: c.sid, scope: 'notes:read notes:write', client_id: 'gatehouse' });
    const next = (await h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: t.refresh_token } })).json() as TokenAnswer;
    expect(await active(t.refresh_token)).toEqual({ active: false });
    expect(await active(next.refresh_token)).toMatchObject({ active: true });
    await revoke(next.refresh_token);
    expect(await active(next.refresh_token)).toEqual({ active: false });
  });

  it('an API token is active until deleted or expired; typos, cookies, passports and garbage are inactive', async () => {
    const a = await apiToken();
    expect(await active(a.token)).toMatchObject({ active: true, token_type: 'api_token', sub: xena, username: 'xena', scope: 'notes:read', exp: Math.floor(h.clock.now() / 1000) + 3600 });
    const typo = `${a.token.slice(0, 10)}${a.token[10] === 'Z' ? 'Y' : 'Z'}${a.token.slice(11)}`;
    expect(await active(typo)).toEqual({ active: false });
    h.clock.advance(3600_000);
    expect(await active(a.token)).toEqual({ active: false });

    const b = await apiToken();
    await revoke(b.token);
    expect(await active(b.token)).toEqual({ active: false });

    const cookie = await signinOk(h.app, { username: 'xena', password: STRONG_PASSWORD });
    expect(await active(cookie.secret)).toEqual({ active: false });
    expect(await active(await mintPassport(h.deps, { sub: xena, username: 'xena', roles: [] }))).toEqual({ active: false });
    expect(await active('garbage')).toEqual({ active: false });
    const missing = await h.app.inject({ method: 'POST', url: '/auth/introspect', headers: { authorization: basic('notes', CLIENT_SECRET) }, payload: {} });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'invalid_request' });
  });
});
