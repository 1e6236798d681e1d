import { createLocalJWKSet, jwtVerify } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerOf } from '../config/issuer.js';
import { hashSecret } from '../crypto/secrets.js';
import { REFRESH_REUSE_GRACE_MS } from './refresh-token.js';
import { issueAccessToken, verifyAccessToken } from '../credentials/access-token.js';
import { createAuthHarness, leakingBodies, mintPassport, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
let userId: string;
beforeAll(async () => {
  h = await createAuthHarness();
  userId = (await signup(h.app, 'tina')).json().id as string;
  await signup(h.app, 'uma');
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  scope: string;
}

function tokenForm(params: Record<string, string>): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams(params).toString(),
  });
}

function tokenJson(params: Record<string, unknown>): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'POST', url: '/auth/token', payload: params });
}

async function passwordGrant(deviceId: string, extra: Record<string, string> = {}): Promise<TokenAnswer> {
  const res = await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: deviceId, ...extra });
  if (res.statusCode !== 200) throw new Error(`password grant answered ${res.statusCode}: ${res.body}`);
  return res.json();
}

function refresh(token: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return tokenForm({ grant_type: 'refresh_token', refresh_token: token, ...extra });
}

function expectOAuthError(res: LightMyRequestResponse, error: string, status = 400): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
}

async function sessionsOf(id: string) {
  return h.deps.stores.sessions.listByUser(id);
}

describe('POST /auth/token: password grant', () => {
  it('form and JSON both work; the answer is RFC 6749 §5.1 with no-store and no-cache', async () => {
    const form = await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'tv-1', device_name: 'Living room TV' });
    expect(form.statusCode, form.body).toBe(200);
    expect(form.headers['cache-control']).toBe('no-store');
    expect(form.headers.pragma).toBe('no-cache');
    expect(form.headers['content-type']).toMatch(/^application\/json/);
    const body = form.json() as TokenAnswer;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'notes:read notes:write' });
    expect(body.refresh_token).toMatch(/^ghr_[A-Za-z0-9_-]{43}$/);

    const json = await tokenJson({ grant_type: 'password', username: 'TINA', password: STRONG_PASSWORD, device_id: 'phone-1' });
    expect(json.statusCode, json.body).toBe(200);
    expect((json.json() as TokenAnswer).access_token.split('.')).toHaveLength(3);

    // Charset parameter on the form content type is fine.
    const charset = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      payload: new URLSearchParams({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'tablet-1' }).toString(),
    });
    expect(charset.statusCode, charset.body).toBe(200);
  });

  it('creates a device session that shows in /auth/sessions; the same device replaces it', async () => {
    // The account scope, asked for by name, opens the account endpoints to the access token.
    const first = await passwordGrant('tv-replace', { device_name: 'Bedroom TV', scope: 'account notes:read' });
    const claims = await verifyAccessToken(h.deps, first.access_token);
    const list = await h.app.inject({
      method: 'GET',
      url: '/auth/sessions',
      headers: { 'x-passport': await mintPassport(h.deps, { sub: userId, username: 'tina', roles: [], sid: claims.sid, did: claims.did, auth: 'access_token', scope: claims.scope }) },
    });
    expect(list.statusCode).toBe(200);
    const row = (list.json() as Array<Record<string, unknown>>).find((s) => s.id === claims.sid);
    expect(row).toMatchObject({ device_id: 'tv-replace', device_name: 'Bedroom TV', current: true });

    const eventsBefore = h.events.length;
    const second = await passwordGrant('tv-replace');
    const claims2 = await verifyAccessToken(h.deps, second.access_token);
    expect(claims2.sid).not.toBe(claims.sid);
    const onDevice = (await sessionsOf(userId)).filter((s) => s.deviceId === 'tv-replace');
    expect(onDevice.map((s) => s.id)).toEqual([claims2.sid]);
    expect(h.events.slice(eventsBefore)).toContainEqual({ type: 'session', sid: claims.sid, at: h.clock.now() });
    // The replaced session's refresh token is dead.
    expectOAuthError(await refresh(first.refresh_token), 'invalid_grant');
  });

  it('wrong password and unknown user: the same invalid_grant', async () => {
    const wrong = await tokenForm({ grant_type: 'password', username: 'tina', password: 'not-the-password-1', device_id: 'd' });
    const unknown = await tokenForm({ grant_type: 'password', username: 'nobody-here', password: 'not-the-password-1', device_id: 'd' });
    expectOAuthError(wrong, 'invalid_grant');
    expectOAuthError(unknown, 'invalid_grant');
    expect(wrong.body).toBe(unknown.body);
  });

  it('scope: omitted -> every default scope; narrower -> that; outside -> invalid_scope; stored on the session', async () => {
    const narrow = await passwordGrant('scoped-1', { scope: 'notes:read' });
    expect(narrow.scope).toBe('notes:read');
    const claims = await verifyAccessToken(h.deps, narrow.access_token);
    expect(claims.scope).toBe('notes:read');
    expect((await h.deps.stores.sessions.findById(claims.sid))?.scope).toBe('notes:read');
    expectOAuthError(await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'x', scope: 'admin:all' }), 'invalid_scope');
    expectOAuthError(await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'x', scope: 'notes:read "q"' }), 'invalid_scope');
    // A refresh keeps the session's scope and may only narrow it.
    const r1 = await refresh(narrow.refresh_token);
    expect(r1.statusCode, r1.body).toBe(200);
    expect((r1.json() as TokenAnswer).scope).toBe('notes:read');
    const wider = await refresh((r1.json() as TokenAnswer).refresh_token, { scope: 'notes:read notes:write' });
    expectOAuthError(wider, 'invalid_scope');
    // A refused scope did not use the token up.
    const again = await refresh((r1.json() as TokenAnswer).refresh_token);
    expect(again.statusCode).toBe(200);
  });

  it('the account scope: never by default, granted to this first-party client when asked for by name, kept by a refresh, dropped by narrowing', async () => {
    const plain = await passwordGrant('account-0');
    expect(plain.scope).toBe('notes:read notes:write');
    const asked = await passwordGrant('account-1', { scope: 'notes:read account' });
    expect(asked.scope).toBe('notes:read account');
    expect((await verifyAccessToken(h.deps, asked.access_token)).scope).toBe('notes:read account');
    const r1 = await refresh(asked.refresh_token);
    expect((r1.json() as TokenAnswer).scope).toBe('notes:read account');
    const r2 = await refresh((r1.json() as TokenAnswer).refresh_token, { scope: 'notes:read' });
    expect((r2.json() as TokenAnswer).scope).toBe('notes:read');
    // Without it in the session, a refresh cannot add it.
    expectOAuthError(await refresh(plain.refresh_token, { scope: 'account' }), 'invalid_scope');
  });

  it('the account scope only by its exact name: other spellings, look-alikes and smuggled characters are refused, by either grant and from any other client', async () => {
    const grant = (scope: string, extra: Record<string, string> = {}) =>
      tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'spelling', scope, ...extra });
    for (const scope of ['Account', 'ACCOUNT', 'account\u0000', 'account\t', 'account\n', 'acc\u043eunt', 'ａｃｃｏｕｎｔ', 'account\u200b', '"account"', 'notes:read,account']) {
      expectOAuthError(await grant(scope), 'invalid_scope');
    }
    expectOAuthError(await grant('account', { client_id: 'someone-else' }), 'invalid_client', 401);
    const plain = await passwordGrant('spelling-refresh');
    for (const scope of ['Account', 'account\u0000', 'notes:read account']) expectOAuthError(await refresh(plain.refresh_token, { scope }), 'invalid_scope');
    // The refused refreshes used nothing up, and the token still carries no account scope.
    const r = await refresh(plain.refresh_token);
    expect(r.statusCode).toBe(200);
    expect((await verifyAccessToken(h.deps, (r.json() as TokenAnswer).access_token)).scope.split(' ')).not.toContain('account');
    // Spaces around it are separators: asking for "account " is asking for account by name.
    expect((await passwordGrant('spelling-space', { scope: ' account  notes:read ' })).scope).toBe('account notes:read');
  });

  it('refresh may narrow: the access token has the narrower scope, the session keeps the full one', async () => {
    const full = await passwordGrant('narrowing');
    const res = await refresh(full.refresh_token, { scope: 'notes:write' });
    expect(res.statusCode).toBe(200);
    const b = res.json() as TokenAnswer;
    expect(b.scope).toBe('notes:write');
    expect((await verifyAccessToken(h.deps, b.access_token)).scope).toBe('notes:write');
    const back = await refresh(b.refresh_token);
    expect((back.json() as TokenAnswer).scope).toBe('notes:read notes:write');
  });

  it('invalid_request for missing, repeated, unknown or non-string parameters; unsupported_grant_type', async () => {
    expectOAuthError(await tokenForm({ username: 'tina' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD }), 'invalid_request'); // no device_id
    expectOAuthError(await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'has space' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'refresh_token' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'd', admin: 'true' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'refresh_token', refresh_token: 'ghr_x', username: 'tina' }), 'invalid_request');
    const repeated = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&grant_type=refresh_token',
    });
    expectOAuthError(repeated, 'invalid_request');
    expectOAuthError(await tokenJson({ grant_type: 'password', username: 'tina', password: 42, device_id: 'd' }), 'invalid_request');
    expectOAuthError(await h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/json' }, payload: '' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer' }), 'unsupported_grant_type');
    // Supported since issue 14, but never for the first-party public client (client-credentials.test.ts).
    expectOAuthError(await tokenForm({ grant_type: 'client_credentials' }), 'unauthorized_client');
    expectOAuthError(await tokenForm({ grant_type: 'authorization_code', code: 'x' }), 'invalid_request');
    expectOAuthError(await tokenForm({ grant_type: 'password', client_id: 'evil', username: 'tina', password: STRONG_PASSWORD, device_id: 'd' }), 'invalid_client', 401);
    const ok = await tokenForm({ grant_type: 'password', client_id: 'gatehouse', username: 'tina', password: STRONG_PASSWORD, device_id: 'with-client-id' });
    expect(ok.statusCode).toBe(200);
  });

  it('other content types get 415 problem+json; other endpoints still refuse forms', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'text/plain' }, payload: 'grant_type=password' });
    expect(res.statusCode).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const signin = await h.app.inject({
      method: 'POST',
      url: '/auth/signin',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `username=tina&password=${STRONG_PASSWORD}`,
    });
    expect(signin.statusCode).toBe(415);
  });
});

describe('refresh token rotation', () => {
  it('rotates on every use: a new refresh token and a new access token of the same session', async () => {
    const t0 = await passwordGrant('rot-1');
    const r1 = await refresh(t0.refresh_token);
    expect(r1.statusCode).toBe(200);
    const b1 = r1.json() as TokenAnswer;
    expect(b1.refresh_token).not.toBe(t0.refresh_token);
    expect(b1.refresh_token).toMatch(/^ghr_/);
    const c0 = await verifyAccessToken(h.deps, t0.access_token);
    const c1 = await verifyAccessToken(h.deps, b1.access_token);
    expect(c1.sid).toBe(c0.sid);
    expect(c1.jti).not.toBe(c0.jti);
    const family = await h.deps.stores.refreshTokens.listBySession(c0.sid);
    expect(family.map((r) => r.tokenHash).sort()).toEqual([hashSecret(t0.refresh_token), hashSecret(b1.refresh_token)].sort());
    expect(family.filter((r) => r.rotatedAt === null).map((r) => r.tokenHash)).toEqual([hashSecret(b1.refresh_token)]);
  });

  it('a refresh slides the session expiry', async () => {
    const t0 = await passwordGrant('slide-1');
    const sid = (await verifyAccessToken(h.deps, t0.access_token)).sid;
    const before = (await h.deps.stores.sessions.findById(sid))!;
    h.clock.advance(3600_000);
    expect((await refresh(t0.refresh_token)).statusCode).toBe(200);
    const after = (await h.deps.stores.sessions.findById(sid))!;
    expect(after.lastSeenAt).toBe(h.clock.now());
    expect(after.expiresAt).toBe(before.expiresAt + 3600_000);
  });

  it('a refresh is one store read and one write transaction: the token with its session and user, then the rotation with the slide', async () => {
    const t0 = await passwordGrant('calls-1');
    const stores = h.deps.stores;
    const calls: string[] = [];
    const restore: (() => void)[] = [];
    // Every method of every store records its calls; the real store still answers.
    for (const name of Object.keys(stores) as (keyof typeof stores)[]) {
      const store = stores[name] as unknown as Record<string, unknown>;
      if (typeof store !== 'object' || store === null) continue;
      let proto: object | null = store;
      const methods = new Set<string>();
      while (proto !== null && proto !== Object.prototype) {
        // `run`: the SQL stores' private wrapper around each of their calls, not a call of its own.
        for (const m of Object.getOwnPropertyNames(proto)) if (m !== 'constructor' && m !== 'run' && typeof store[m] === 'function') methods.add(m);
        proto = Object.getPrototypeOf(proto) as object | null;
      }
      for (const m of methods) {
        const real = store[m] as (...args: unknown[]) => unknown;
        store[m] = (...args: unknown[]) => {
          calls.push(`${String(name)}.${m}`);
          return real.apply(store, args);
        };
        restore.push(() => delete store[m]);
      }
    }
    let res: LightMyRequestResponse;
    try {
      res = await refresh(t0.refresh_token);
    } finally {
      for (const r of restore) r();
    }
    expect(res.statusCode).toBe(200);
    expect(calls).toEqual(['refreshTokens.findWithSession', 'refreshTokens.rotate']);
  });

  it('20 parallel refreshes of one token: all 200 with the same new refresh token, exactly one live family', async () => {
    const t0 = await passwordGrant('race-20');
    const sid = (await verifyAccessToken(h.deps, t0.access_token)).sid;
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(t0.refresh_token)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    const tokens = new Set(results.map((r) => (r.json() as TokenAnswer).refresh_token));
    expect(tokens.size).toBe(1);
    const [next] = [...tokens];
    const family = await h.deps.stores.refreshTokens.listBySession(sid);
    expect(family).toHaveLength(2);
    expect(family.filter((r) => r.rotatedAt === null).map((r) => r.tokenHash)).toEqual([hashSecret(next!)]);
    // Every access token is of the same session; all distinct.
    const jtis = new Set<string>();
    for (const r of results) {
      const c = await verifyAccessToken(h.deps, (r.json() as TokenAnswer).access_token);
      expect(c.sid).toBe(sid);
      jtis.add(c.jti);
    }
    expect(jtis.size).toBe(20);
    // The successor works once more as usual.
    expect((await refresh(next!)).statusCode).toBe(200);
  });

  it('a replay within 10 s gets the same successor; after 10 s it is theft: the session ends and is revoked', async () => {
    const t0 = await passwordGrant('replay-1');
    const sid = (await verifyAccessToken(h.deps, t0.access_token)).sid;
    const first = (await refresh(t0.refresh_token)).json() as TokenAnswer;
    h.clock.advance(REFRESH_REUSE_GRACE_MS);
    const retry = await refresh(t0.refresh_token);
    expect(retry.statusCode).toBe(200);
    expect((retry.json() as TokenAnswer).refresh_token).toBe(first.refresh_token);
    expect(await h.deps.stores.sessions.findById(sid)).not.toBeNull();

    h.clock.advance(1);
    const eventsBefore = h.events.length;
    const theft = await refresh(t0.refresh_token);
    expectOAuthError(theft, 'invalid_grant');
    expect(await h.deps.stores.sessions.findById(sid)).toBeNull();
    expect(h.events.slice(eventsBefore)).toContainEqual({ type: 'session', sid, at: h.clock.now() });
    expect(await h.deps.stores.revocations.since(h.clock.now() - 1)).toContainEqual({ type: 'session', sid, at: h.clock.now() });
    // The whole family is dead, the legitimate successor included.
    expectOAuthError(await refresh(first.refresh_token), 'invalid_grant');
    expect(await h.deps.stores.refreshTokens.listBySession(sid)).toEqual([]);
  });

  it('an access token, a session cookie, a wrong shape or an unknown token as refresh token: invalid_grant', async () => {
    const t0 = await passwordGrant('confusion-1');
    expectOAuthError(await refresh(t0.access_token), 'invalid_grant');
    const cookie = await signinOk(h.app, { username: 'tina', password: STRONG_PASSWORD });
    expectOAuthError(await refresh(cookie.secret), 'invalid_grant');
    expectOAuthError(await refresh(`ghr_${cookie.secret}`), 'invalid_grant'); // right shape, never issued
    expectOAuthError(await refresh(`${t0.refresh_token}x`), 'invalid_grant');
    expectOAuthError(await refresh('ghr_short'), 'invalid_grant');
    // Nothing of that ended the session.
    expect((await refresh(t0.refresh_token)).statusCode).toBe(200);
  });

  it('an expired session cannot be refreshed', async () => {
    const t0 = await passwordGrant('expire-1');
    h.clock.advance(h.deps.config.session.slidingTtlSec * 1000 + 1);
    expectOAuthError(await refresh(t0.refresh_token), 'invalid_grant');
  });

  it('sign-out-all racing refreshes: every refresh token and session minted in the race is dead afterwards', async () => {
    const grants = await Promise.all(['race-a', 'race-b', 'race-c'].map((d) => passwordGrant(d)));
    const passport = await mintPassport(h.deps, { sub: userId, username: 'tina', roles: [], auth: 'session' });
    const refreshes = grants.flatMap((g) => Array.from({ length: 5 }, () => refresh(g.refresh_token)));
    const signout = h.app.inject({ method: 'POST', url: '/auth/signout-all', headers: { 'x-passport': passport } });
    const results = await Promise.all([...refreshes, signout]);
    expect(results.at(-1)!.statusCode).toBe(204);
    const minted = results.slice(0, -1).filter((r) => r.statusCode === 200).map((r) => r.json() as TokenAnswer);
    for (const r of results.slice(0, -1)) expect([200, 400]).toContain(r.statusCode);
    for (const t of [...grants, ...minted]) {
      expectOAuthError(await refresh(t.refresh_token), 'invalid_grant');
      const c = await verifyAccessToken(h.deps, t.access_token);
      // Its session is gone and was revoked on the feed, so the gateway refuses the access token.
      expect(await h.deps.stores.sessions.findById(c.sid)).toBeNull();
      expect(h.events).toContainEqual(expect.objectContaining({ type: 'session', sid: c.sid }));
    }
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'user', userId }));
    expect(await sessionsOf(userId)).toEqual([]);
  });
});

describe('access tokens', () => {
  it('verify with an independent JOSE check (jose jwtVerify + the published JWKS)', async () => {
    const t = await passwordGrant('jose-1');
    const iss = issuerOf(h.deps.config);
    const { payload, protectedHeader } = await jwtVerify(t.access_token, createLocalJWKSet(h.deps.keyring.jwks()), {
      typ: 'at+jwt',
      issuer: iss,
      audience: iss,
      algorithms: ['EdDSA'],
      currentDate: new Date(h.clock.now()),
    });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(typeof protectedHeader.kid).toBe('string');
    expect(payload).toMatchObject({ iss, aud: iss, sub: userId, client_id: 'gatehouse', scope: 'notes:read notes:write', username: 'tina', roles: [] });
    expect(payload.exp! - payload.iat!).toBe(600);
    for (const k of ['sid', 'did', 'jti']) expect(typeof payload[k]).toBe('string');
    expect(payload.did).toBe('jose-1');
    // A passport-typed check refuses it.
    await expect(jwtVerify(t.access_token, createLocalJWKSet(h.deps.keyring.jwks()), { typ: 'passport+jwt', currentDate: new Date(h.clock.now()) })).rejects.toThrow();
  });

  it('verifyAccessToken refuses a passport, an expired token (frozen clock), a wrong audience and garbage', async () => {
    const t = await passwordGrant('verify-1');
    const claims = await verifyAccessToken(h.deps, t.access_token);
    const passport = await mintPassport(h.deps, { sub: userId, username: 'tina', roles: [], sid: claims.sid, did: claims.did, auth: 'access_token', scope: claims.scope }, { aud: issuerOf(h.deps.config) });
    await expect(verifyAccessToken(h.deps, passport)).rejects.toMatchObject({ code: 'invalid_token' });

    const frozenLater = { ...h.deps, clock: { now: () => h.clock.now() + 601_000 + 5_000 } };
    await expect(verifyAccessToken(frozenLater, t.access_token)).rejects.toMatchObject({ code: 'invalid_token' });
    const justBefore = { ...h.deps, clock: { now: () => h.clock.now() + 599_000 } };
    await expect(verifyAccessToken(justBefore, t.access_token)).resolves.toMatchObject({ jti: claims.jti });

    const otherIssuer = { ...h.deps, config: { ...h.deps.config, passport: { ...h.deps.config.passport, issuer: 'https://elsewhere.example' } } };
    await expect(verifyAccessToken(otherIssuer, t.access_token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(verifyAccessToken(h.deps, t.refresh_token)).rejects.toMatchObject({ code: 'invalid_token' });
    await expect(verifyAccessToken(h.deps, `${t.access_token.slice(0, -4)}AAAA`)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('issueAccessToken carries username and roles for the gateway', async () => {
    const user = (await h.deps.stores.users.findById(userId))!;
    const t = await passwordGrant('issue-1');
    const session = (await h.deps.stores.sessions.findById((await verifyAccessToken(h.deps, t.access_token)).sid))!;
    const issued = await issueAccessToken(h.deps, { user: { ...user, roles: ['admin'] }, session, scope: 'notes:read' });
    const c = await verifyAccessToken(h.deps, issued.token);
    expect(c).toMatchObject({ sub: userId, username: 'tina', roles: ['admin'], scope: 'notes:read', jti: issued.jti, sid: session.id, did: 'issue-1' });
    expect(issued.expiresIn).toBe(600);
  });

  it('sign-out with an access-token passport ends that device session and its refresh tokens', async () => {
    const t = await passwordGrant('signout-bearer');
    const c = await verifyAccessToken(h.deps, t.access_token);
    const passport = await mintPassport(h.deps, { sub: userId, username: 'tina', roles: [], sid: c.sid, did: c.did, auth: 'access_token', scope: c.scope });
    const res = await h.app.inject({ method: 'POST', url: '/auth/signout', headers: { 'x-passport': passport } });
    expect(res.statusCode).toBe(204);
    expect(await h.deps.stores.sessions.findById(c.sid)).toBeNull();
    expect(h.events).toContainEqual(expect.objectContaining({ type: 'session', sid: c.sid }));
    expectOAuthError(await refresh(t.refresh_token), 'invalid_grant');
  });
});
