import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerOf } from '../config/issuer.js';
import { signJwt } from '../crypto/jwt.js';
import { hashSecret } from '../crypto/secrets.js';
import { ACCESS_TOKEN_TYP, CLIENT_CREDENTIALS_GTY, verifyAccessToken } from '../credentials/access-token.js';
import { addClient, rotateClientSecret } from '../credentials/clients.js';
import { TOKEN_ENDPOINT_AUTH_METHODS, TOKEN_GRANT_TYPES } from '../credentials/token-endpoint-metadata.js';
import { createAuthHarness, leakingBodies, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

/** Client authentication at POST /auth/token and grant_type=client_credentials (issue 14 §1, §3). */

let h: AuthHarness;
let secret: string;
let otherSecret: string;
let noGrantSecret: string;
const SCOPES = ['notes:read', 'notes:write'];
const INTROSPECTION_SECRET = 'introspection-secret-of-the-notes-service';

beforeAll(async () => {
  h = await createAuthHarness({
    config: (c) => {
      c.signin.maxFailures = 3;
      c.signin.perIpPerMinute = 6;
      c.introspection.clients = [{ id: 'notes', secretSha256: hashSecret(INTROSPECTION_SECRET) }];
    },
  });
  const grantable = h.deps.config.tokens.defaultScopes;
  const now = h.clock.now();
  const spec = { name: 'Billing', type: 'confidential', grants: ['client_credentials'], scopes: SCOPES, audiences: [] };
  secret = (await addClient(h.deps.stores.clients, { ...spec, clientId: 'billing' }, grantable, now)).secret!;
  otherSecret = (await addClient(h.deps.stores.clients, { ...spec, clientId: 'locked-out' }, grantable, now)).secret!;
  noGrantSecret = (await addClient(h.deps.stores.clients, { ...spec, clientId: 'exchanger', grants: ['token-exchange'], audiences: ['notes'] }, grantable, now)).secret!;
  await addClient(h.deps.stores.clients, { clientId: 'tv-app', name: 'TV', type: 'public', grants: ['device_code'], scopes: ['notes:read'], audiences: [] }, grantable, now);
  await signup(h.app, 'tina');
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

const basic = (id: string, s: string): string => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;

function token(params: Record<string, string>, opts: { authorization?: string; url?: string; ip?: string } = {}): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: opts.url ?? '/auth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(opts.authorization !== undefined ? { authorization: opts.authorization } : {}),
      ...(opts.ip !== undefined ? { 'x-gatehouse-client-ip': opts.ip } : {}),
    },
    payload: new URLSearchParams(params).toString(),
  });
}

function expectOAuthError(res: LightMyRequestResponse, error: string, status = 400): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  if (error === 'invalid_client') expect(res.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
}

describe('client authentication at the token endpoint', () => {
  it('client_secret_basic and client_secret_post both work', async () => {
    for (const res of [
      await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret) }),
      await token({ grant_type: 'client_credentials', client_id: 'billing', client_secret: secret }),
    ]) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('unknown client and wrong secret get the same 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const unknown = await token({ grant_type: 'client_credentials' }, { authorization: basic('nobody', secret), ip: '198.51.100.1' });
    const wrong = await token({ grant_type: 'client_credentials', client_id: 'billing', client_secret: otherSecret }, { ip: '198.51.100.2' });
    expectOAuthError(unknown, 'invalid_client', 401);
    expectOAuthError(wrong, 'invalid_client', 401);
    expect(unknown.json()).toEqual(wrong.json());
    // A confidential client naming itself without a secret is not authenticated either.
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'billing' }, { ip: '198.51.100.3' }), 'invalid_client', 401);
  });

  it('a secret in the query string, both methods at once, and duplicate parameters are invalid_request', async () => {
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'billing' }, { url: `/auth/token?client_secret=${secret}` }), 'invalid_request');
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'billing', client_secret: secret }, { authorization: basic('billing', secret) }), 'invalid_request');
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'other' }, { authorization: basic('billing', secret) }), 'invalid_request');
    const dup = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=billing&client_secret=${secret}&client_secret=${secret}`,
    });
    expectOAuthError(dup, 'invalid_request');
  });

  it('failures are rate-limited per client id: past signin.maxFailures, 429 even with the right secret', async () => {
    for (let i = 0; i < 3; i++) {
      expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'locked-out', client_secret: secret }, { ip: `203.0.113.${i + 10}` }), 'invalid_client', 401);
    }
    const locked = await token({ grant_type: 'client_credentials', client_id: 'locked-out', client_secret: otherSecret }, { ip: '203.0.113.50' });
    expect(locked.statusCode, locked.body).toBe(429);
    expect(locked.headers['retry-after']).toMatch(/^[0-9]+$/);
  });

  it('30 parallel wrong secrets for one client: every failure counts, and then even the right secret gets 429', async () => {
    // No point is reserved before the check (a client secret is 256 random bits: a parallel burst
    // has no chance of a guess), but each failure is counted, so the burst locks the client id.
    const grantable = h.deps.config.tokens.defaultScopes;
    const right = (await addClient(h.deps.stores.clients, { clientId: 'parallel', name: 'P', type: 'confidential', grants: ['client_credentials'], scopes: SCOPES, audiences: [] }, grantable, h.clock.now())).secret!;
    expect(right).not.toBe(secret);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => token({ grant_type: 'client_credentials', client_id: 'parallel', client_secret: secret }, { ip: `203.0.113.${100 + i}` })),
    );
    expect(answers.every((r) => r.statusCode === 401 || r.statusCode === 429)).toBe(true);
    expect(answers.filter((r) => r.statusCode === 200)).toEqual([]);
    const locked = await token({ grant_type: 'client_credentials', client_id: 'parallel', client_secret: right }, { ip: '203.0.113.99' });
    expect(locked.statusCode, locked.body).toBe(429);
    const peeked = await h.deps.stores.rateLimits.peek(`client-auth:client:${hashSecret('parallel')}`, { points: 3, durationSec: h.deps.config.signin.lockWindowSec });
    // Every checked guess was counted (those that came after the count was reached were not checked).
    const checked = answers.filter((r) => r.statusCode === 401).length;
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(peeked.consumed).toBe(checked);
  });

  it('a successful client authentication writes nothing to the rate-limit store; one after failures clears them', async () => {
    const grantable = h.deps.config.tokens.defaultScopes;
    const own = (await addClient(h.deps.stores.clients, { clientId: 'quiet', name: 'Q', type: 'confidential', grants: ['client_credentials'], scopes: SCOPES, audiences: [] }, grantable, h.clock.now())).secret!;
    const rl = h.deps.stores.rateLimits;
    const writes: string[] = [];
    const original = { consume: rl.consume, refund: rl.refund, reset: rl.reset };
    // Counts the writes of the real store (no stand-in: every call goes through to it).
    rl.consume = (key, rule, cost) => (writes.push(`consume ${key}`), original.consume.call(rl, key, rule, cost));
    rl.refund = (key, rule, points) => (writes.push(`refund ${key}`), original.refund.call(rl, key, rule, points));
    rl.reset = (key) => (writes.push(`reset ${key}`), original.reset.call(rl, key));
    try {
      for (let i = 0; i < 5; i++) {
        const ok = await token({ grant_type: 'client_credentials' }, { authorization: basic('quiet', own), ip: '198.51.100.7' });
        expect(ok.statusCode, ok.body).toBe(200);
      }
      expect(writes).toEqual([]);
      // Two failures, a success (one reset), two failures: still under signin.maxFailures (3).
      const ip = (i: number): string => `198.51.100.${20 + i}`;
      for (let i = 0; i < 2; i++) expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'quiet', client_secret: secret }, { ip: ip(i) }), 'invalid_client', 401);
      expect((await token({ grant_type: 'client_credentials' }, { authorization: basic('quiet', own), ip: ip(2) })).statusCode).toBe(200);
      expect(writes.filter((w) => w.startsWith('reset'))).toHaveLength(1);
      for (let i = 3; i < 5; i++) expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'quiet', client_secret: secret }, { ip: ip(i) }), 'invalid_client', 401);
      expect((await token({ grant_type: 'client_credentials' }, { authorization: basic('quiet', own), ip: ip(5) })).statusCode).toBe(200);
    } finally {
      Object.assign(rl, original);
    }
  });

  it('failures are rate-limited per IP across client ids (signin.perIpPerMinute)', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 6; i++) expectOAuthError(await token({ grant_type: 'client_credentials' }, { authorization: basic(`guess-${i}`, secret), ip }), 'invalid_client', 401);
    const limited = await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret), ip });
    expect(limited.statusCode, limited.body).toBe(429);
    // Another address is not affected.
    expect((await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret), ip: '192.0.2.78' })).statusCode).toBe(200);
  });

  it('an Authorization header of another scheme is not client authentication: the first-party grant goes on as before', async () => {
    const res = await token({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'with-bearer' }, { authorization: 'Bearer something' });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('a rotated-out secret stops working at the end of its overlap', async () => {
    const grantable = h.deps.config.tokens.defaultScopes;
    const first = (await addClient(h.deps.stores.clients, { clientId: 'rotating', name: 'R', type: 'confidential', grants: ['client_credentials'], scopes: SCOPES, audiences: [] }, grantable, h.clock.now())).secret!;
    const next = (await rotateClientSecret(h.deps.stores.clients, 'rotating', 0, h.clock.now())).secret;
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'rotating', client_secret: first }, { ip: '192.0.2.90' }), 'invalid_client', 401);
    expect((await token({ grant_type: 'client_credentials', client_id: 'rotating', client_secret: next })).statusCode).toBe(200);
  });

  it('records the use (touchLastUsed)', async () => {
    expect((await token({ grant_type: 'client_credentials' }, { authorization: basic('exchanger', noGrantSecret) })).statusCode).toBe(400);
    await new Promise((r) => setTimeout(r, 20));
    expect((await h.deps.stores.clients.get('exchanger'))!.lastUsedAt).toBe(h.clock.now());
  });
});

describe('grant_type=client_credentials', () => {
  it('issues an at+jwt for the client: sub = client_id, all allowed scopes by default, no refresh token', async () => {
    const res = await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'notes:read notes:write' });
    const jwt = body.access_token as string;
    expect(decodeProtectedHeader(jwt).typ).toBe(ACCESS_TOKEN_TYP);
    const iss = issuerOf(h.deps.config);
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ iss, aud: iss, sub: 'billing', client_id: 'billing', scope: 'notes:read notes:write', gty: 'client_credentials' });
    expect(claims).not.toHaveProperty('username');
    expect(claims).not.toHaveProperty('sid');
    expect(claims.exp! - claims.iat!).toBe(600);
  });

  it('narrows to a requested subset; widening is invalid_scope', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: 'notes:read' }, { authorization: basic('billing', secret) });
    expect(res.json()).toMatchObject({ scope: 'notes:read' });
    expectOAuthError(await token({ grant_type: 'client_credentials', scope: 'notes:read admin' }, { authorization: basic('billing', secret) }), 'invalid_scope');
    expectOAuthError(await token({ grant_type: 'client_credentials', scope: 'account' }, { authorization: basic('billing', secret) }), 'invalid_scope');
  });

  it('a public client, the first-party client, or a client without the grant: unauthorized_client', async () => {
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'tv-app' }), 'unauthorized_client');
    expectOAuthError(await token({ grant_type: 'client_credentials' }), 'unauthorized_client');
    expectOAuthError(await token({ grant_type: 'client_credentials', client_id: 'gatehouse' }), 'unauthorized_client');
    expectOAuthError(await token({ grant_type: 'client_credentials' }, { authorization: basic('exchanger', noGrantSecret) }), 'unauthorized_client');
  });

  it('a confidential client may not use the first-party password grant', async () => {
    const res = await token({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'd' }, { authorization: basic('billing', secret) });
    expectOAuthError(res, 'unauthorized_client');
  });

  it('the token is never taken for a user token: verifyAccessToken (gateway, introspection) refuses it', async () => {
    const jwt = (await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret) })).json().access_token as string;
    await expect(verifyAccessToken(h.deps, jwt)).rejects.toMatchObject({ code: 'invalid_token' });
    // Even one that also carried every user claim: the `gty` mark alone refuses it.
    const iss = issuerOf(h.deps.config);
    const now = Math.floor(h.clock.now() / 1000);
    const forged = await signJwt(
      { iss, aud: iss, sub: 'billing', client_id: 'billing', scope: 'notes:read', gty: CLIENT_CREDENTIALS_GTY, sid: 's', did: 'd', jti: 'j', iat: now, exp: now + 60, username: 'tina', roles: [] },
      { typ: ACCESS_TOKEN_TYP, key: h.deps.keyring.signingKey() },
    );
    await expect(verifyAccessToken(h.deps, forged)).rejects.toMatchObject({ code: 'invalid_token' });
  });

  it('introspection answers {active: false} for it (documented in clients.md: it is no user token)', async () => {
    const jwt = (await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret) })).json().access_token as string;
    const res = await token({ token: jwt }, { url: '/auth/introspect', authorization: basic('notes', INTROSPECTION_SECRET) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ active: false });
  });
});

describe('discovery matches the token endpoint', () => {
  it('every listed grant type is dispatched (none is unsupported_grant_type), and an unlisted one is refused', async () => {
    for (const g of TOKEN_GRANT_TYPES) {
      const res = await token({ grant_type: g, client_id: 'nobody-here' });
      expect((res.json() as { error: string }).error, g).not.toBe('unsupported_grant_type');
    }
    expectOAuthError(await token({ grant_type: 'urn:example:unlisted' }), 'unsupported_grant_type');
  });

  it('every listed auth method is accepted', async () => {
    expect([...TOKEN_ENDPOINT_AUTH_METHODS]).toEqual(['none', 'client_secret_basic', 'client_secret_post']);
    // none: the first-party password grant; basic and post: above.
    const res = await token({ grant_type: 'password', username: 'tina', password: STRONG_PASSWORD, device_id: 'disco' });
    expect(res.statusCode, res.body).toBe(200);
    expect((await token({ grant_type: 'client_credentials' }, { authorization: basic('billing', secret) })).statusCode).toBe(200);
    expect((await token({ grant_type: 'client_credentials', client_id: 'billing', client_secret: secret })).statusCode).toBe(200);
  });
});
