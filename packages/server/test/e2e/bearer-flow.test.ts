import { rmSync } from 'node:fs';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// Bearer credentials end to end through one real `gatehouse start` process.
let gh: StartedGatehouse;
const dataDir = tempDataDir();
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  gh = await startGatehouse(dataDir);
});
afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

async function tokenGrant(params: Record<string, string>): Promise<Response> {
  return fetch(`${gh.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

async function passwordGrant(username: string, deviceId: string, scope?: string): Promise<TokenAnswer> {
  const res = await tokenGrant({ grant_type: 'password', username, password: PASSWORD, device_id: deviceId, ...(scope !== undefined ? { scope } : {}) });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('cache-control')).toContain('no-store');
  return (await res.json()) as TokenAnswer;
}

const withBearer = (token: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
const api = (path: string, token: string, init: RequestInit = {}) => fetch(gh.url + path, withBearer(token, init));

async function expectInvalidToken(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
  expect(((await res.json()) as { code: string }).code).toBe('invalid_token');
}

describe('bearer credentials (end to end)', () => {
  it('password grant -> bearer -> notes GET/POST and whoami with auth access_token', async () => {
    await signUpAndIn(gh.url, 'tv-user');
    const t = await passwordGrant('tv-user', 'living-room-tv');
    expect(t.token_type).toBe('Bearer');
    expect(t.expires_in).toBe(600);
    expect(t.refresh_token).toMatch(/^ghr_/);

    expect((await api('/api/notes', t.access_token)).status).toBe(200);
    const created = await api('/api/notes', t.access_token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'from the TV' }) });
    expect(created.status).toBe(201);
    const list = (await (await api('/api/notes', t.access_token)).json()) as unknown;
    expect(JSON.stringify(list)).toContain('from the TV');

    const who = (await (await api('/api/home/whoami', t.access_token)).json()) as Record<string, unknown>;
    expect(who).toMatchObject({ username: 'tv-user', aud: 'home', iss: gh.url, auth: 'access_token', did: 'living-room-tv' });
    expect(typeof who.sid).toBe('string');
    expect(String(who.scope).split(' ')).toEqual(expect.arrayContaining(['notes:read', 'notes:write']));
    // The query string never carries a token.
    expect((await fetch(`${gh.url}/api/home/whoami?access_token=${t.access_token}`)).status).toBe(401);
  });

  it('our access token verifies with an independent JOSE check (remote JWKS, explicit typ/iss/aud/alg)', async () => {
    const t = await passwordGrant('tv-user', 'jose-check');
    const jwks = createRemoteJWKSet(new URL(`${gh.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(t.access_token, jwks, { typ: 'at+jwt', issuer: gh.url, audience: gh.url, algorithms: ['EdDSA'] });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(typeof protectedHeader.kid).toBe('string');
    expect(payload).toMatchObject({ iss: gh.url, aud: gh.url, username: 'tv-user', did: 'jose-check' });
    expect(payload.exp! - payload.iat!).toBe(600);
    for (const c of ['sub', 'sid', 'jti', 'scope']) expect(typeof payload[c], c).toBe('string');
    // And it is not a passport: the same check with the passport typ fails.
    await expect(jwtVerify(t.access_token, jwks, { typ: 'passport+jwt', issuer: gh.url, audience: 'home', algorithms: ['EdDSA'] })).rejects.toThrow();
    expect(decodeProtectedHeader(t.access_token).typ).toBe('at+jwt');
  });

  it('refresh grant: new tokens work; the refresh token is no bearer and the access token no refresh token', async () => {
    const first = await passwordGrant('tv-user', 'tablet');
    const res = await tokenGrant({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(res.status).toBe(200);
    const next = (await res.json()) as TokenAnswer;
    expect(next.refresh_token).not.toBe(first.refresh_token);
    expect(next.access_token).not.toBe(first.access_token);
    const who = (await (await api('/api/home/whoami', next.access_token)).json()) as Record<string, unknown>;
    expect(who).toMatchObject({ auth: 'access_token', did: 'tablet' });
    await expectInvalidToken(await api('/api/home/whoami', next.refresh_token));
    const confused = await tokenGrant({ grant_type: 'refresh_token', refresh_token: next.access_token });
    expect(confused.status).toBe(400);
    expect(((await confused.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('sign-out with the bearer: the access token is refused on the first request after the 204', async () => {
    const t = await passwordGrant('tv-user', 'phone');
    expect((await api('/api/home/whoami', t.access_token)).status).toBe(200);
    const out = await api('/auth/signout', t.access_token, { method: 'POST' });
    expect(out.status).toBe(204);
    const started = performance.now();
    await expectInvalidToken(await api('/api/home/whoami', t.access_token));
    const ms = performance.now() - started;
    expect(ms).toBeLessThan(1000);
    // Its refresh token died with the session.
    expect((await tokenGrant({ grant_type: 'refresh_token', refresh_token: t.refresh_token })).status).toBe(400);
  });

  it('sign-out-all with a bearer that has the account scope refuses every token issued before; a new sign-in works', async () => {
    const a = await passwordGrant('tv-user', 'device-a', 'account notes:read notes:write');
    const b = await passwordGrant('tv-user', 'device-b');
    expect((await api('/api/home/whoami', b.access_token)).status).toBe(200);
    // Without the account scope (the default), the account endpoints are closed to it (DESIGN §6).
    const refused = await api('/auth/signout-all', b.access_token, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('insufficient_scope');
    expect((await api('/auth/signout-all', a.access_token, { method: 'POST' })).status).toBe(204);
    await expectInvalidToken(await api('/api/home/whoami', a.access_token));
    await expectInvalidToken(await api('/api/home/whoami', b.access_token));
    const again = await passwordGrant('tv-user', 'device-a');
    expect((await api('/api/home/whoami', again.access_token)).status).toBe(200);
  });

  it('API token: created through a cookie session (with CSRF), used as bearer, refused once deleted', async () => {
    const web = await signUpAndIn(gh.url, 'script-owner');
    const csrf = { 'x-csrf-token': web.csrf! };
    const made = await web.fetch('/auth/api-tokens', { method: 'POST', headers: csrf, json: { name: 'backup script', scopes: ['notes:read'] } });
    expect(made.status, await made.clone().text()).toBe(201);
    const tok = (await made.json()) as { id: string; token: string; scopes: string[] };
    expect(tok.token).toMatch(/^gh_[0-9A-Za-z]+$/);

    const who = (await (await api('/api/home/whoami', tok.token)).json()) as Record<string, unknown>;
    expect(who).toMatchObject({ username: 'script-owner', auth: 'api_token', scope: 'notes:read' });
    expect(who.sid).toBeUndefined();
    expect((await api('/api/notes', tok.token)).status).toBe(200);
    const write = await api('/api/notes', tok.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' });
    expect(write.status).toBe(403);
    // A mistyped token.
    await expectInvalidToken(await api('/api/notes', `${tok.token.slice(0, -1)}${tok.token.endsWith('a') ? 'b' : 'a'}`));

    expect((await web.fetch(`/auth/api-tokens/${tok.id}`, { method: 'DELETE', headers: csrf })).status).toBe(204);
    await expectInvalidToken(await api('/api/notes', tok.token));
  });
});
