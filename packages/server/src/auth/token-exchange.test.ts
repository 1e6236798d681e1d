import { PassThrough } from 'node:stream';
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JWT_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, type PassportClaims, type UserPassportClaims } from '@gatehouse/sdk';
import { issuerOf } from '../config/issuer.js';
import { addClient } from '../credentials/clients.js';
import { TOKEN_GRANT_TYPES } from '../credentials/token-endpoint-metadata.js';
import { createLogger } from '../util/logger.js';
import { keyringPassportVerifier } from './passport.js';
import { endSessions } from './sessions.js';
import { createAuthHarness, leakingBodies, mintPassport, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';

/**
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693, issue 14 §4) at the auth
 * service, on real SQLite stores: a service exchanges the passport it received for one addressed
 * to the next service, and every refusal of the issue's "bad input and attacks" list for token
 * exchange, each in the OAuth shape with its RFC code.
 */

let h: AuthHarness;
const logs = new PassThrough();
let logText = '';
logs.on('data', (d: Buffer) => (logText += d.toString()));
const secrets: Record<string, string> = {};
let ursula: SignedIn;

beforeAll(async () => {
  h = await createAuthHarness({ logger: createLogger('info', logs) });
  const grantable = h.deps.config.tokens.defaultScopes;
  const now = h.clock.now();
  const add = async (clientId: string, over: Record<string, unknown> = {}): Promise<void> => {
    const spec = { clientId, name: clientId, type: 'confidential', grants: ['token-exchange'], scopes: ['notes:read', 'notes:write'], audiences: ['svc-b'], ...over };
    const { secret } = await addClient(h.deps.stores.clients, spec as Parameters<typeof addClient>[1], grantable, now);
    if (secret !== null) secrets[clientId] = secret;
  };
  await add('svc-a');
  await add('svc-b', { scopes: ['notes:read'], audiences: ['svc-c'] });
  await add('moved', { service: 'orders' });
  await add('cc-only', { grants: ['client_credentials'], audiences: [] });
  await add('tv', { type: 'public', grants: ['device_code'], audiences: [] });
  await signup(h.app, 'ursula');
  ursula = await signinOk(h.app, { username: 'ursula', password: STRONG_PASSWORD, device_id: 'laptop' });
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

const basic = (id: string): string => `Basic ${Buffer.from(`${id}:${secrets[id]}`).toString('base64')}`;

function token(params: Record<string, string>, authorization?: string): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization !== undefined ? { authorization } : {}) },
    payload: new URLSearchParams(params).toString(),
  });
}

/** An exchange request by `client` (HTTP Basic) of `subject` for `audience`. */
function exchange(client: string, subject: string, audience: string, extra: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return token({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: JWT_TOKEN_TYPE, audience, ...extra }, basic(client));
}

function expectOAuthError(res: LightMyRequestResponse, error: string, detail?: RegExp, status = 400): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  if (detail) expect(body.error_description).toMatch(detail);
}

/** The passport the gateway would hand svc-a for ursula's browser session. */
const forA = (options: Parameters<typeof passportFor>[2] = {}): Promise<string> => passportFor(h.deps, ursula, { aud: 'svc-a', ...options });

async function verifyFor(service: string, passport: string): Promise<PassportClaims> {
  return keyringPassportVerifier(h.deps, service).verify(passport);
}

async function exchanged(res: LightMyRequestResponse): Promise<{ body: Record<string, unknown>; passport: string }> {
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as Record<string, unknown>;
  return { body, passport: body.access_token as string };
}

describe('token exchange: the answer', () => {
  it('is a passport for the next service: the same user, aud = audience, act = the calling client; token_type N_A, no-store', async () => {
    const subject = await forA();
    const res = await exchange('svc-a', subject, 'svc-b');
    const { body, passport } = await exchanged(res);
    expect(res.headers['cache-control']).toBe('no-store');
    // A browser session carries no scopes: none in the answer either.
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_token_type', 'token_type']);
    expect(body).toMatchObject({ issued_token_type: JWT_TOKEN_TYPE, token_type: 'N_A' });
    expect(decodeProtectedHeader(passport)).toMatchObject({ alg: 'EdDSA', typ: 'passport+jwt' });
    const claims = await verifyFor('svc-b', passport);
    const before = decodeJwt(subject);
    expect(claims).toEqual({
      iss: issuerOf(h.deps.config),
      aud: 'svc-b',
      sub: ursula.userId,
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
      username: 'ursula',
      roles: ursula.roles,
      sid: ursula.sid,
      did: 'laptop',
      auth: 'session',
      act: { sub: 'svc-a' },
      actors: ['svc-a'],
    });
    expect(claims.jti).not.toBe(before.jti);
    // It is good for svc-b only.
    await expect(verifyFor('svc-a', passport)).rejects.toMatchObject({ code: 'audience_mismatch' });
  });

  it('exchanged again by the next service, it nests act: {sub: svc-b, act: {sub: svc-a}}', async () => {
    const toB = (await exchanged(await exchange('svc-a', await forA(), 'svc-b'))).passport;
    const toC = (await exchanged(await exchange('svc-b', toB, 'svc-c'))).passport;
    const claims = await verifyFor('svc-c', toC);
    expect(claims.act).toEqual({ sub: 'svc-b', act: { sub: 'svc-a' } });
    expect(claims.actors).toEqual(['svc-b', 'svc-a']);
    expect(claims).toMatchObject({ sub: ursula.userId, aud: 'svc-c', sid: ursula.sid });
  });

  it('client_secret_post works as well as HTTP Basic', async () => {
    const res = await token({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, client_id: 'svc-a', client_secret: secrets['svc-a']!, subject_token: await forA(), subject_token_type: JWT_TOKEN_TYPE, audience: 'svc-b', requested_token_type: JWT_TOKEN_TYPE });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('never outlives the subject passport, and never lives over passport.ttlSec', async () => {
    const short = await forA({ ttlSec: 10 });
    const a = await exchanged(await exchange('svc-a', short, 'svc-b'));
    expect(a.body.expires_in).toBe(10);
    expect(decodeJwt(a.passport).exp).toBe(decodeJwt(short).exp);

    const long = await forA({ ttlSec: 3600 });
    const b = await exchanged(await exchange('svc-a', long, 'svc-b'));
    expect(b.body.expires_in).toBe(h.deps.config.passport.ttlSec);
    expect(h.deps.config.passport.ttlSec).toBeLessThanOrEqual(60);
    const c = decodeJwt(b.passport);
    expect(c.exp! - c.iat!).toBe(h.deps.config.passport.ttlSec);
  });

  it('scopes: the subject\'s (those the client is registered for) by default; a narrower request is granted', async () => {
    const withScopes = await mintPassport(h.deps, { sub: ursula.userId, username: 'ursula', roles: [], sid: ursula.sid, did: 'laptop', auth: 'access_token', scope: 'notes:read notes:write' }, { aud: 'svc-a' });
    const all = await exchanged(await exchange('svc-a', withScopes, 'svc-b'));
    expect(all.body.scope).toBe('notes:read notes:write');
    expect((await verifyFor('svc-b', all.passport)).scope).toBe('notes:read notes:write');
    const narrow = await exchanged(await exchange('svc-a', withScopes, 'svc-b', { scope: 'notes:read' }));
    expect(narrow.body.scope).toBe('notes:read');
    expect((await verifyFor('svc-b', narrow.passport)).scope).toBe('notes:read');
    // svc-b is registered for notes:read only: the default drops notes:write.
    const viaB = await exchanged(await exchange('svc-b', all.passport, 'svc-c'));
    expect(viaB.body.scope).toBe('notes:read');
  });

  it('the client\'s own service is its client id unless --service says otherwise', async () => {
    const forOrders = await passportFor(h.deps, ursula, { aud: 'orders' });
    expect((await exchange('moved', forOrders, 'svc-b')).statusCode).toBe(200);
    expectOAuthError(await exchange('moved', await passportFor(h.deps, ursula, { aud: 'moved' }), 'svc-b'), 'invalid_request', /not minted for this client's own service \("orders"\)/);
  });

  it('logs the exchange by ids, never a token or a secret', async () => {
    const subject = await forA();
    const { passport } = await exchanged(await exchange('svc-a', subject, 'svc-b'));
    await new Promise((r) => setTimeout(r, 20));
    const line = logText.split('\n').filter((l) => l.includes('"token.exchange"')).at(-1)!;
    expect(JSON.parse(line)).toMatchObject({ event: 'token.exchange', clientId: 'svc-a', userId: ursula.userId, sid: ursula.sid, aud: 'svc-b', actors: ['svc-a'] });
    for (const secret of [subject, passport, secrets['svc-a']!, subject.split('.')[2]!, passport.split('.')[2]!]) expect(logText).not.toContain(secret);
  });

  it('costs one store read beyond client authentication: the session (or the user, for a passport without one)', async () => {
    const stores = h.deps.stores as unknown as Record<string, Record<string, unknown>>;
    const reads: string[] = [];
    const restore: (() => void)[] = [];
    for (const [store, methods] of Object.entries({ sessions: ['findById', 'findByTokenHash', 'getWithUser', 'listByUser'], users: ['findById', 'findByCanonical'], revocations: ['since'] })) {
      for (const m of methods) {
        const target = stores[store]!;
        const original = target[m] as (...args: unknown[]) => unknown;
        target[m] = (...args: unknown[]) => {
          reads.push(`${store}.${m}`);
          return original.apply(target, args);
        };
        restore.push(() => (target[m] = original));
      }
    }
    try {
      const subject = await forA();
      expect((await exchange('svc-a', subject, 'svc-b')).statusCode).toBe(200);
      expect(reads).toEqual(['sessions.findById']);
      reads.length = 0;
      const apiPassport = await mintPassport(h.deps, { sub: ursula.userId, username: 'ursula', roles: [], auth: 'api_token', scope: 'notes:read' }, { aud: 'svc-a' });
      expect((await exchange('svc-a', apiPassport, 'svc-b')).statusCode).toBe(200);
      expect(reads).toEqual(['users.findById']);
    } finally {
      for (const r of restore) r();
    }
  });

  it('discovery lists the grant', () => {
    expect(TOKEN_GRANT_TYPES).toContain(TOKEN_EXCHANGE_GRANT_TYPE);
  });
});

describe('token exchange: refusals (issue 14, bad input and attacks)', () => {
  it('a forged subject: signed by a key of its own (even with our kid), or altered after signing', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    expect((await exportJWK(publicKey)).kty).toBe('OKP');
    const real = await forA();
    const claims = decodeJwt(real);
    const kid = decodeProtectedHeader(real).kid!;
    const forged = await new SignJWT({ ...claims, roles: ['admin'] }).setProtectedHeader({ alg: 'EdDSA', typ: 'passport+jwt', kid }).sign(privateKey);
    expectOAuthError(await exchange('svc-a', forged, 'svc-b'), 'invalid_request', /signature does not verify/);
    const foreignKid = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: 'passport+jwt', kid: 'not-ours' }).sign(privateKey);
    expectOAuthError(await exchange('svc-a', foreignKid, 'svc-b'), 'invalid_request', /not signed by a key of this Gatehouse/);
    const [head, , sig] = real.split('.');
    const altered = `${head}.${Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url')}.${sig}`;
    expectOAuthError(await exchange('svc-a', altered, 'svc-b'), 'invalid_request', /signature does not verify/);
  });

  it('alg none (and HS256 with the public key as secret) is refused before any key lookup', async () => {
    const claims = decodeJwt(await forA());
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: 'passport+jwt' })}.${b64(claims)}.`;
    expectOAuthError(await exchange('svc-a', none, 'svc-b'), 'invalid_request', /not a well-formed passport/);
    const noneWithSig = `${b64({ alg: 'none', typ: 'passport+jwt', kid: 'x' })}.${b64(claims)}.AAAA`;
    expectOAuthError(await exchange('svc-a', noneWithSig, 'svc-b'), 'invalid_request', /not a well-formed passport/);
  });

  it('an access token, a refresh token or an API token as subject', async () => {
    const grant = await token({ grant_type: 'password', username: 'ursula', password: STRONG_PASSWORD, device_id: 'phone' });
    expect(grant.statusCode, grant.body).toBe(200);
    const { access_token: at, refresh_token: rt } = grant.json() as { access_token: string; refresh_token: string };
    expectOAuthError(await exchange('svc-a', at, 'svc-b'), 'invalid_request', /not a passport \(an access token\?\)/);
    expectOAuthError(await exchange('svc-a', rt, 'svc-b'), 'invalid_request', /not a well-formed passport/);
    const api = await h.app.inject({
      method: 'POST',
      url: '/auth/api-tokens',
      payload: { name: 'script' },
      headers: { 'x-passport': await passportFor(h.deps, ursula) },
    });
    expect(api.statusCode, api.body).toBe(201);
    expectOAuthError(await exchange('svc-a', (api.json() as { token: string }).token, 'svc-b'), 'invalid_request', /not a well-formed passport/);
  });

  it('an expired subject, also within the verifier\'s clock leeway', async () => {
    const subject = await forA({ ttlSec: 10 });
    h.clock.advance(12_000);
    try {
      expectOAuthError(await exchange('svc-a', subject, 'svc-b'), 'invalid_request', /has expired/);
      h.clock.advance(60_000);
      expectOAuthError(await exchange('svc-a', subject, 'svc-b'), 'invalid_request', /has expired/);
    } finally {
      h.clock.advance(-72_000);
    }
  });

  it('a subject minted for another audience than the client\'s own service', async () => {
    for (const aud of ['svc-b', 'notes', 'auth']) {
      expectOAuthError(await exchange('svc-a', await passportFor(h.deps, ursula, { aud }), 'svc-b'), 'invalid_request', /not minted for this client's own service \("svc-a"\)/);
    }
  });

  it('a subject whose session has ended, or whose user is gone', async () => {
    await signinOk(h.app, { username: 'ursula', password: STRONG_PASSWORD, device_id: 'tablet' });
    const tablet = await signinOk(h.app, { username: 'ursula', password: STRONG_PASSWORD, device_id: 'tablet-2' });
    const subject = await passportFor(h.deps, tablet, { aud: 'svc-a' });
    expect((await exchange('svc-a', subject, 'svc-b')).statusCode).toBe(200);
    await endSessions(h.deps, { sessionIds: [tablet.sid] });
    expectOAuthError(await exchange('svc-a', subject, 'svc-b'), 'invalid_request', /session has ended/);
    // Another user's session id in a passport is no session of this user.
    const other = await mintPassport(h.deps, { sub: 'someone-else', username: 'x', roles: [], sid: ursula.sid, auth: 'session' }, { aud: 'svc-a' });
    expectOAuthError(await exchange('svc-a', other, 'svc-b'), 'invalid_request', /session has ended/);
    // A passport without a session (an API token's): its user must exist.
    const orphan = await mintPassport(h.deps, { sub: 'no-such-user', username: 'ghost', roles: [], auth: 'api_token', scope: 'notes:read' }, { aud: 'svc-a' });
    expectOAuthError(await exchange('svc-a', orphan, 'svc-b'), 'invalid_request', /user no longer exists/);
  });

  it('a passport of an API token of a disabled user (issue 18) is refused for exchange until the user is enabled', async () => {
    const wanda = (await signup(h.app, 'wanda')).json().id as string;
    const subject = await mintPassport(h.deps, { sub: wanda, username: 'wanda', roles: [], auth: 'api_token', scope: 'notes:read' }, { aud: 'svc-a' });
    expect((await exchange('svc-a', subject, 'svc-b')).statusCode).toBe(200);
    const now = h.clock.now();
    await h.deps.stores.users.setDisabled(wanda, now, now);
    expectOAuthError(await exchange('svc-a', subject, 'svc-b'), 'invalid_request', /disabled/);
    await h.deps.stores.users.setDisabled(wanda, null, now);
    expect((await exchange('svc-a', subject, 'svc-b')).statusCode).toBe(200);
  });

  it('a sign-out-all ends every passport of the user for exchange', async () => {
    await signup(h.app, 'victor');
    const v = await signinOk(h.app, { username: 'victor', password: STRONG_PASSWORD, device_id: 'laptop' });
    const subject = await passportFor(h.deps, v, { aud: 'svc-a' });
    expect((await exchange('svc-a', subject, 'svc-b')).statusCode).toBe(200);
    await endSessions(h.deps, { userId: v.userId, allCredentials: true });
    expectOAuthError(await exchange('svc-a', subject, 'svc-b'), 'invalid_request', /session has ended/);
  });

  it('widening the scopes: beyond the subject\'s, or beyond the client\'s', async () => {
    const readOnly = await mintPassport(h.deps, { sub: ursula.userId, username: 'ursula', roles: [], sid: ursula.sid, did: 'laptop', auth: 'access_token', scope: 'notes:read' }, { aud: 'svc-a' });
    expectOAuthError(await exchange('svc-a', readOnly, 'svc-b', { scope: 'notes:read notes:write' }), 'invalid_scope', /does not carry "notes:write": an exchange may only narrow/);
    expectOAuthError(await exchange('svc-a', readOnly, 'svc-b', { scope: 'account' }), 'invalid_scope');
    const toB = (await exchanged(await exchange('svc-a', await forA(), 'svc-b'))).passport;
    expectOAuthError(await exchange('svc-b', toB, 'svc-c', { scope: 'notes:write' }), 'invalid_scope', /not registered for "notes:write"/);
  });

  it('an audience the client may not call (invalid_target), the auth service included', async () => {
    const subject = await forA();
    expectOAuthError(await exchange('svc-a', subject, 'svc-c'), 'invalid_target', /may not call "svc-c" on a user's behalf; its audiences are svc-b/);
    expectOAuthError(await exchange('svc-a', subject, 'auth'), 'invalid_target');
    expectOAuthError(await exchange('svc-a', subject, 'svc-a'), 'invalid_target');
  });

  it('a nested act forged by the caller: no parameter sets it, actor_token is refused, and a malformed or too deep act in the subject is refused', async () => {
    const subject = await forA();
    expectOAuthError(await exchange('svc-a', subject, 'svc-b', { act: JSON.stringify({ sub: 'admin-svc' }) }), 'invalid_request', /Unknown parameter "act"/);
    expectOAuthError(await exchange('svc-a', subject, 'svc-b', { actor_token: subject, actor_token_type: JWT_TOKEN_TYPE }), 'invalid_request', /actor_token is not supported/);
    const base = { sub: ursula.userId, username: 'ursula', roles: [] as string[], sid: ursula.sid, did: 'laptop', auth: 'session' as const };
    for (const act of [{ sub: 'x', roles: ['admin'] }, { sub: 'x', act: 'y' }, 'svc-z', { sub: '' }]) {
      const bad = await mintPassport(h.deps, { ...base, act } as unknown as UserPassportClaims, { aud: 'svc-a' });
      expectOAuthError(await exchange('svc-a', bad, 'svc-b'), 'invalid_request', /not a well-formed passport/);
    }
    const chain = (n: number): Record<string, unknown> => (n === 1 ? { sub: 'svc-1' } : { sub: `svc-${n}`, act: chain(n - 1) });
    const deepest = await mintPassport(h.deps, { ...base, act: chain(8) } as unknown as UserPassportClaims, { aud: 'svc-a' });
    expectOAuthError(await exchange('svc-a', deepest, 'svc-b'), 'invalid_request', /already 8 long/);
    const seven = await mintPassport(h.deps, { ...base, act: chain(7) } as unknown as UserPassportClaims, { aud: 'svc-a' });
    const { passport } = await exchanged(await exchange('svc-a', seven, 'svc-b'));
    expect((await verifyFor('svc-b', passport)).actors).toEqual(['svc-a', 'svc-7', 'svc-6', 'svc-5', 'svc-4', 'svc-3', 'svc-2', 'svc-1']);
  });

  it('a passport that names no user (a service\'s own) is not exchanged', async () => {
    const service = await mintPassport(h.deps, { sub: 'cc-only', username: '', roles: [], auth: 'client' as unknown as 'session' }, { aud: 'svc-a' });
    expectOAuthError(await exchange('svc-a', service, 'svc-b'), 'invalid_request');
  });

  it('duplicate parameters, missing ones, and other token types', async () => {
    const subject = await forA();
    const dup = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('svc-a') },
      payload: `${new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: JWT_TOKEN_TYPE, audience: 'svc-b' }).toString()}&audience=svc-c`,
    });
    expectOAuthError(dup, 'invalid_request', /"audience" is repeated/);
    expectOAuthError(await token({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token_type: JWT_TOKEN_TYPE, audience: 'svc-b' }, basic('svc-a')), 'invalid_request', /Missing parameter "subject_token"/);
    expectOAuthError(await token({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, audience: 'svc-b' }, basic('svc-a')), 'invalid_request', /Missing parameter "subject_token_type"/);
    expectOAuthError(await token({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: JWT_TOKEN_TYPE }, basic('svc-a')), 'invalid_request', /Missing parameter "audience"/);
    expectOAuthError(await exchange('svc-a', subject, 'svc-b', { subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' }), 'invalid_request', /subject_token_type must be/);
    expectOAuthError(await exchange('svc-a', subject, 'svc-b', { requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }), 'invalid_request', /requested_token_type may only be/);
    expectOAuthError(await exchange('svc-a', subject, 'svc-b', { resource: 'https://svc-b.internal/' }), 'invalid_request', /resource is not supported: name the next service with audience/);
  });

  it('clients: unauthenticated, the first-party client, a public client, one without the grant, a wrong secret', async () => {
    const subject = await forA();
    const params = { grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subject, subject_token_type: JWT_TOKEN_TYPE, audience: 'svc-b' };
    expectOAuthError(await token(params), 'unauthorized_client', /for services/);
    expectOAuthError(await token({ ...params, client_id: 'svc-a' }), 'invalid_client', undefined, 401);
    expectOAuthError(await token({ ...params, client_id: 'tv' }), 'unauthorized_client', /public client/);
    expectOAuthError(await token(params, basic('cc-only')), 'unauthorized_client', /not registered for token exchange/);
    const wrong = await token(params, `Basic ${Buffer.from(`svc-a:${secrets['svc-b']}`).toString('base64')}`);
    expectOAuthError(wrong, 'invalid_client', undefined, 401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
  });
});
