import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordReauthentication } from '../auth/reauth/reauth.js';
import { issueAccessToken } from '../credentials/access-token.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import type { UserRecord } from '../stores/types.js';
import { createGatewayHarness, lastReceived, send, type GatewayHarness, type SignedIn } from './test-helpers.js';

/*
 * Issue 17: how the user signed in, held to the route at the gateway. `mfa: true` takes only a
 * sign-in with a second factor or a passkey (amr holds `mfa`); `maxAuthAgeSec` only one recent
 * enough (auth_time). Refusals are RFC 9470 for APIs, a redirect to re-authentication for pages;
 * a re-authentication on the session counts at once (the cached session is re-read).
 */

const MAX_AGE_SEC = 600;
let h: GatewayHarness;

beforeAll(async () => {
  h = await createGatewayHarness({
    routes: (upstream) => [
      { path: '/api/secure', upstream, service: 'secure', auth: 'required', mfa: true },
      { path: '/api/billing', upstream, service: 'billing', auth: 'required', maxAuthAgeSec: MAX_AGE_SEC },
      { path: '/api/admin', upstream, service: 'admin', auth: 'required', roles: ['admin'], mfa: true },
      { path: '/api/home', upstream, service: 'home', auth: 'required' },
    ],
  });
});

afterAll(async () => {
  await h?.close();
});

const cookie = (s: SignedIn): Array<[string, string]> => [['Cookie', s.cookie]];
const bearer = (t: string): Array<[string, string]> => [['Authorization', `Bearer ${t}`]];
const problemOf = (body: string): { code: string; required?: string; max_age?: number } => JSON.parse(body) as { code: string; required?: string; max_age?: number };

async function accessTokenOf(user: UserRecord, amr: string[]): Promise<string> {
  const tv = await h.signIn(user, { deviceId: `tv-${randomId()}`, amr });
  return (await issueAccessToken(h.deps, { user, session: { ...tv.session, scope: 'notes:read' }, scope: 'notes:read' })).token;
}

async function passportOf(path: string, headers: Array<[string, string]>, aud: string) {
  const res = await send(h.url, path, { headers });
  expect(res.status, res.body).toBe(200);
  return h.verifyPassport(lastReceived(h).headers['x-passport'] as string, aud);
}

describe('routes with mfa: true', () => {
  it('refuse a password-only session: 401 insufficient_user_authentication with the RFC 9470 challenge', async () => {
    const user = await h.createUser('pat');
    const s = await h.signIn(user, { amr: ['pwd'] });
    const res = await send(h.url, '/api/secure/x', { headers: cookie(s) });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="[^"]+"$/);
    expect(problemOf(res.body)).toMatchObject({ code: 'insufficient_user_authentication', required: 'mfa' });
    // The same session passes a route that asks nothing of the sign-in.
    expect((await send(h.url, '/api/home', { headers: cookie(s) })).status).toBe(200);
  });

  it('send a page of a password-only session to re-authentication, returning to where it was', async () => {
    const s = await h.signIn(await h.createUser('pia'), { amr: ['pwd'] });
    const res = await send(h.url, '/api/secure/page?tab=2', { headers: [...cookie(s), ['Accept', 'text/html']] });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`/signin?reauth=1&next=${encodeURIComponent('/api/secure/page?tab=2')}&mfa=1`);
  });

  it('accept a session whose amr holds mfa, and its passport carries amr and auth_time', async () => {
    const s = await h.signIn(await h.createUser('max'), { amr: ['pwd', 'otp', 'mfa'] });
    const claims = await passportOf('/api/secure/x', cookie(s), 'secure');
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.auth_time).toBe(Math.floor(s.session.createdAt / 1000));
  });

  it('refuse an access token of a password-only session; take one of an mfa session (amr and auth_time in the token and the passport)', async () => {
    const user = await h.createUser('tess');
    const weak = await send(h.url, '/api/secure/x', { headers: bearer(await accessTokenOf(user, ['pwd'])) });
    expect(weak.status).toBe(401);
    expect(problemOf(weak.body).code).toBe('insufficient_user_authentication');
    expect(weak.headers['www-authenticate']).toContain('error="insufficient_user_authentication"');
    const claims = await passportOf('/api/secure/x', bearer(await accessTokenOf(user, ['hwk', 'user', 'mfa'])), 'secure');
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(typeof claims.auth_time).toBe('number');
  });

  it('refuse an API token: it records no sign-in, so it never proves a second factor', async () => {
    const user = await h.createUser('api');
    const token = generateApiToken();
    await h.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'script', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
    const res = await send(h.url, '/api/secure/x', { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect(problemOf(res.body).code).toBe('insufficient_user_authentication');
    // Its passport elsewhere says nothing of a sign-in.
    const claims = await passportOf('/api/home', bearer(token), 'home');
    expect(claims.amr).toBeUndefined();
    expect(claims.auth_time).toBeUndefined();
  });

  it('a missing role is 403 before the sign-in is judged (no re-authentication would help)', async () => {
    const s = await h.signIn(await h.createUser('norole'), { amr: ['pwd'] });
    const res = await send(h.url, '/api/admin', { headers: cookie(s) });
    expect(res.status).toBe(403);
    expect(problemOf(res.body).code).toBe('forbidden');
  });
});

describe('routes with maxAuthAgeSec (step-up), frozen clock', () => {
  it('take a sign-in up to maxAuthAgeSec old, refuse it one second later with max_age, and take it again at once after a re-authentication', async () => {
    const s = await h.signIn(await h.createUser('sam'), { amr: ['pwd'] });
    h.clock.advance(MAX_AGE_SEC * 1000);
    expect((await send(h.url, '/api/billing', { headers: cookie(s) })).status).toBe(200);
    h.clock.advance(1000);
    const stale = await send(h.url, '/api/billing', { headers: cookie(s) });
    expect(stale.status).toBe(401);
    expect(stale.headers['www-authenticate']).toMatch(/error="insufficient_user_authentication", error_description="[^"]+", max_age=600$/);
    expect(problemOf(stale.body)).toMatchObject({ code: 'insufficient_user_authentication', required: 'max_age', max_age: MAX_AGE_SEC });
    const page = await send(h.url, '/api/billing/invoices', { headers: [...cookie(s), ['Accept', 'text/html']] });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe(`/signin?reauth=1&next=${encodeURIComponent('/api/billing/invoices')}`);

    // The session was just read (fresh in the gateway's cache for session.cacheTtlMs); the
    // re-authentication's event makes the gateway read it again: no clock moves here.
    const reads = h.sessionReads.count;
    await recordReauthentication(h.deps, { id: s.session.id, userId: s.user.id }, ['pwd']);
    const claims = await passportOf('/api/billing', cookie(s), 'billing');
    expect(claims.auth_time).toBe(Math.floor(h.clock.now() / 1000));
    expect(h.sessionReads.count).toBe(reads + 1);
    // Same session, same cookie: nothing was re-issued.
    expect(claims.sid).toBe(s.session.id);
  });

  it('an access token carries the auth_time of its session; refresh-style reissue after a re-authentication carries the new one', async () => {
    const user = await h.createUser('ria');
    const tv = await h.signIn(user, { deviceId: 'tv', amr: ['pwd'] });
    const first = await issueAccessToken(h.deps, { user, session: tv.session, scope: 'notes:read' });
    h.clock.advance((MAX_AGE_SEC + 1) * 1000);
    expect((await send(h.url, '/api/billing', { headers: bearer(first.token) })).status).toBe(401);
    const updated = await recordReauthentication(h.deps, { id: tv.session.id, userId: user.id }, ['pwd']);
    const second = await issueAccessToken(h.deps, { user, session: updated, scope: 'notes:read' });
    expect((await send(h.url, '/api/billing', { headers: bearer(second.token) })).status).toBe(200);
  });
});
