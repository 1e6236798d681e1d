import { createHmac, createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CompactSign, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../credentials/access-token.js';
import { issuerOf } from '../config/issuer.js';
import { signJwt } from '../crypto/jwt.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { generateApiToken, generateRefreshToken } from '../credentials/token-formats.js';
import type { ApiTokenRecord, RevocationEvent, UserRecord } from '../stores/types.js';
import { createGateway } from './gateway.js';
import { createGatewayHarness, send, type GatewayHarness, type Recorded, type SignedIn, lastReceived } from './test-helpers.js';

const CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
const enc = new TextEncoder();
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

let h: GatewayHarness;
let alice: SignedIn;
let bob: UserRecord;
let issuer: string;
/** Counts of the store and key calls the hot path must not make. */
const calls = { findApiToken: 0, touchApiToken: 0, publicKey: 0 };

const api = (upstream: string) => [
  { path: '/api/notes', upstream, service: 'notes', auth: 'required' as const, scopes: { GET: ['notes:read'], '*': ['notes:write'] } },
  { path: '/api/home', upstream, service: 'home', auth: 'required' as const },
  { path: '/api/admin', upstream, service: 'admin', auth: 'required' as const, roles: ['admin'] },
];

beforeAll(async () => {
  h = await createGatewayHarness({ routes: api });
  issuer = issuerOf(h.deps.config);
  alice = await h.signIn(await h.createUser('alice'));
  bob = await h.createUser('bob', ['staff']);
  const tokens = h.deps.stores.apiTokens;
  const find = tokens.getWithUser.bind(tokens);
  tokens.getWithUser = (hash) => {
    calls.findApiToken++;
    return find(hash);
  };
  const touch = tokens.touchLastUsed.bind(tokens);
  tokens.touchLastUsed = (id, at) => {
    calls.touchApiToken++;
    return touch(id, at);
  };
  const keyring = h.deps.keyring;
  const publicKey = keyring.publicKey.bind(keyring);
  keyring.publicKey = (kid) => {
    calls.publicKey++;
    return publicKey(kid);
  };
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.upstream.received.length = 0;
});

function last(): Recorded {
  return lastReceived(h);
}

const bearer = (token: string, extra: Array<[string, string]> = []): Array<[string, string]> => [['Authorization', `Bearer ${token}`], ...extra];

async function accessToken(user: UserRecord, opts: { scope?: string; session?: SignedIn } = {}) {
  const session = opts.session ?? (await h.signIn(user));
  const t = await issueAccessToken(h.deps, { user, session: session.session, scope: opts.scope ?? 'notes:read notes:write' });
  return { ...t, session };
}

async function apiToken(user: UserRecord, opts: { scopes?: string[]; expiresAt?: number | null } = {}): Promise<{ token: string; record: ApiTokenRecord }> {
  const token = generateApiToken();
  const record: ApiTokenRecord = {
    id: randomId(),
    userId: user.id,
    name: 'script',
    tokenHash: hashSecret(token),
    scopes: opts.scopes ?? ['notes:read'],
    createdAt: h.clock.now(),
    expiresAt: opts.expiresAt ?? null,
    lastUsedAt: null,
  };
  await h.deps.stores.apiTokens.create(record);
  return { token, record };
}

/** Valid access-token claims for `user`, for hand-built tokens. */
function claims(user: UserRecord, over: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(h.clock.now() / 1000);
  return { iss: issuer, aud: issuer, sub: user.id, client_id: 'gatehouse', scope: 'notes:read notes:write', sid: alice.session.id, did: 'd1', jti: randomId(), iat, exp: iat + 600, username: user.username, roles: ['admin'], ...over };
}

/** Signs arbitrary header + payload with our real signing key (or another key). */
async function signRaw(header: Record<string, unknown>, payload: unknown, key?: CryptoKey): Promise<string> {
  const signer = key ?? h.deps.keyring.signingKey().privateKey;
  return new CompactSign(enc.encode(JSON.stringify(payload))).setProtectedHeader(header as { alg: string }).sign(signer, { crit: { foo: true, b64: true } });
}

async function expectInvalid(token: string, path = '/api/home'): Promise<void> {
  const r = await send(h.url, path, { headers: bearer(token) });
  expect(r.status, `${r.status} ${r.body}`).toBe(401);
  expect(r.headers['www-authenticate']).toBe(CHALLENGE);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(JSON.parse(r.body).code).toBe('invalid_token');
  expect(h.upstream.received).toHaveLength(0);
}

describe('access tokens', () => {
  it('a valid access token gets a passport with auth access_token, scope, sid and did', async () => {
    const t = await accessToken(bob);
    const r = await send(h.url, '/api/home', { headers: bearer(t.token) });
    expect(r.status).toBe(200);
    const rec = last();
    expect(rec.headers.authorization).toBeUndefined();
    const p = await h.verifyPassport(rec.headers['x-passport'] as string, 'home');
    expect(p).toMatchObject({ sub: bob.id, username: 'bob', roles: ['staff'], auth: 'access_token', scope: 'notes:read notes:write', sid: t.session.session.id, did: t.session.session.deviceId });
  });

  it('"Bearer" in any case; a repeated token costs no signature check', async () => {
    const t = await accessToken(bob);
    expect((await send(h.url, '/api/home', { headers: [['Authorization', `bEaReR ${t.token}`]] })).status).toBe(200);
    const before = calls.publicKey;
    for (let i = 0; i < 5; i++) expect((await send(h.url, '/api/home', { headers: [['authorization', `BEARER ${t.token}`]] })).status).toBe(200);
    expect(calls.publicKey).toBe(before);
  });

  it('route scopes apply to tokens: GET needs notes:read, POST notes:write (403 forbidden), no CSRF for bearer writes', async () => {
    const ro = await accessToken(bob, { scope: 'notes:read' });
    expect((await send(h.url, '/api/notes', { headers: bearer(ro.token) })).status).toBe(200);
    const post = (token: string) => send(h.url, '/api/notes', { method: 'POST', headers: bearer(token, [['Content-Type', 'application/json']]), body: '{"text":"x"}' });
    const denied = await post(ro.token);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).code).toBe('forbidden');
    const wo = await accessToken(bob, { scope: 'notes:write' });
    expect((await send(h.url, '/api/notes', { headers: bearer(wo.token) })).status).toBe(403);
    // A bearer write needs no X-CSRF-Token (a browser never attaches the header by itself).
    expect((await post(wo.token)).status).toBe(200);
    // Cookie sessions are unaffected by scope rules (they need CSRF instead).
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    const cookieWrite = await send(h.url, '/api/notes', { method: 'POST', headers: [['Cookie', alice.cookie], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', 'application/json']], body: '{}' });
    expect(cookieWrite.status).toBe(200);
  });

  it('roles come from the token: a route role is still enforced', async () => {
    const t = await accessToken(bob);
    const r = await send(h.url, '/api/admin', { headers: bearer(t.token) });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('forbidden');
  });

  it('two tokens of one session with different scopes never share a passport', async () => {
    const s = await h.signIn(bob);
    const read = await accessToken(bob, { session: s, scope: 'notes:read' });
    const both = await accessToken(bob, { session: s, scope: 'notes:read notes:write' });
    await send(h.url, '/api/home', { headers: bearer(both.token) });
    const p1 = await h.verifyPassport(last().headers['x-passport'] as string, 'home');
    await send(h.url, '/api/home', { headers: bearer(read.token) });
    const p2 = await h.verifyPassport(last().headers['x-passport'] as string, 'home');
    expect(p1.scope).toBe('notes:read notes:write');
    expect(p2.scope).toBe('notes:read');
    expect(p2.jti).not.toBe(p1.jti);
    // A refreshed token with the same scope reuses the session's passport.
    const again = await accessToken(bob, { session: s, scope: 'notes:read' });
    await send(h.url, '/api/home', { headers: bearer(again.token) });
    expect(last().headers['x-passport']).toBe(h.upstream.received.at(-2)!.headers['x-passport']);
  });

  it('a bearer token decides over a cookie (valid bearer: its user; bad bearer: 401)', async () => {
    const t = await accessToken(bob);
    expect((await send(h.url, '/api/home', { headers: bearer(t.token, [['Cookie', alice.cookie]]) })).status).toBe(200);
    expect(await h.verifyPassport(last().headers['x-passport'] as string, 'home')).toMatchObject({ sub: bob.id, auth: 'access_token' });
    h.upstream.received.length = 0;
    const r = await send(h.url, '/api/home', { headers: [['Cookie', alice.cookie], ['Authorization', 'Bearer abc.def.ghi']] });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(CHALLENGE);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('never reads a token from the query string', async () => {
    const t = await accessToken(bob);
    const r = await send(h.url, `/api/home?access_token=${t.token}`);
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('unauthenticated');
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    // With a cookie, the cookie decides; the query token is ignored.
    expect((await send(h.url, `/api/home?access_token=${t.token}`, { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    expect(await h.verifyPassport(last().headers['x-passport'] as string, 'home')).toMatchObject({ sub: alice.user.id, auth: 'session' });
  });

  it('expired and not-yet-valid tokens are refused (ManualClock), also from the verified cache', async () => {
    const t = await accessToken(bob);
    expect((await send(h.url, '/api/home', { headers: bearer(t.token) })).status).toBe(200);
    h.clock.advance(h.deps.config.tokens.accessTokenTtlSec * 1000);
    try {
      h.upstream.received.length = 0;
      await expectInvalid(t.token);
      h.clock.advance(60_000);
      await expectInvalid(t.token);
    } finally {
      h.clock.advance(-(h.deps.config.tokens.accessTokenTtlSec * 1000 + 60_000));
    }
    const fresh = await accessToken(bob);
    h.clock.advance(-3600_000);
    try {
      await expectInvalid(fresh.token);
    } finally {
      h.clock.advance(3600_000);
    }
    const now = Math.floor(h.clock.now() / 1000);
    const kid = h.deps.keyring.signingKey().kid;
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid }, claims(bob, { iat: now + 3600, exp: now + 4200 })));
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid }, claims(bob, { nbf: now + 3600 })));
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid }, claims(bob, { exp: now - 60 })));
  });
});

describe('attacks: each one is 401 invalid_token with the Bearer challenge', () => {
  let listener: Server;
  let listenerUrl: string;
  let listenerHits = 0;
  let attacker: { privateKey: CryptoKey; jwk: JWK };

  beforeAll(async () => {
    listener = createServer((_req, res) => {
      listenerHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [attacker.jwk] }));
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
    listenerUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    attacker = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'attacker', alg: 'EdDSA' } };
  });

  afterAll(async () => {
    expect(listenerHits).toBe(0);
    await new Promise<void>((r) => listener.close(() => r()));
  });

  const kid = () => h.deps.keyring.signingKey().kid;

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg: %s (empty, and with a real signature copied)', async (alg) => {
    const body = b64(claims(bob));
    await expectInvalid(`${b64({ alg, typ: 'at+jwt', kid: kid() })}.${body}.`);
    await expectInvalid(`${b64({ alg, typ: 'at+jwt' })}.${body}.`);
    const real = (await accessToken(bob)).token.split('.')[2]!;
    await expectInvalid(`${b64({ alg, typ: 'at+jwt', kid: kid() })}.${body}.${real}`);
  });

  it('HS256 signed with our public key in several encodings', async () => {
    const jwk = h.deps.keyring.jwks().keys.find((k) => k.kid === kid())!;
    const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x! }, format: 'jwk' });
    const secrets: Array<string | Buffer> = [
      pub.export({ type: 'spki', format: 'pem' }) as string,
      (pub.export({ type: 'spki', format: 'pem' }) as string).trim(),
      pub.export({ type: 'spki', format: 'der' }),
      Buffer.from(jwk.x!, 'base64url'),
      jwk.x!,
      JSON.stringify(jwk),
      JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }),
    ];
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      for (const secret of secrets) {
        const input = `${b64({ alg, typ: 'at+jwt', kid: kid() })}.${b64(claims(bob))}`;
        const hash = `sha${alg.slice(2)}`;
        await expectInvalid(`${input}.${createHmac(hash, secret).update(input).digest('base64url')}`);
      }
    }
  });

  it('an embedded jwk header (the attacker key), with and without our kid', async () => {
    for (const k of [kid(), 'attacker', undefined]) {
      await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', ...(k ? { kid: k } : {}), jwk: attacker.jwk }, claims(bob), attacker.privateKey));
    }
    // Even a jwk header on a token our key really signed is refused.
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid(), jwk: attacker.jwk }, claims(bob)));
  });

  it('jku / x5u / x5c pointing at a local listener: refused, and the listener gets no request', async () => {
    for (const member of ['jku', 'x5u']) {
      for (const k of ['attacker', kid()]) {
        await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: k, [member]: `${listenerUrl}/jwks.json` }, claims(bob), attacker.privateKey));
      }
      await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid(), [member]: `${listenerUrl}/jwks.json` }, claims(bob)));
    }
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid(), x5c: ['MIIB'] }, claims(bob)));
    await new Promise((r) => setTimeout(r, 50));
    expect(listenerHits).toBe(0);
  });

  it.each([
    ['path-like', '../../../../dev/null'],
    ['absolute path', '/etc/passwd'],
    ['url', 'http://127.0.0.1/key'],
    ['sql', "x' OR '1'='1"],
    ['number', 1],
    ['null', null],
    ['object', { kid: 'x' }],
    ['array', ['x']],
    ['empty', ''],
  ])('kid: %s', async (_name, k) => {
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: k }, claims(bob)));
  });

  it('a kid that exists but the token was signed by another key', async () => {
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid() }, claims(bob), attacker.privateKey));
  });

  it('unknown crit (and crit naming a present header)', async () => {
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid(), crit: ['foo'], foo: 1 }, claims(bob)));
    await expectInvalid(await signRaw({ alg: 'EdDSA', typ: 'at+jwt', kid: kid(), crit: ['b64'], b64: true }, claims(bob)));
  });

  it('tampered payload, truncated, zeroed and missing signatures', async () => {
    const { token } = await accessToken(bob);
    const [hd, pl, sig] = token.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(pl, 'base64url').toString()) as Record<string, unknown>;
    await expectInvalid(`${hd}.${b64({ ...payload, roles: ['admin'] })}.${sig}`);
    await expectInvalid(`${hd}.${b64({ ...payload, scope: 'notes:read notes:write admin' })}.${sig}`);
    await expectInvalid(`${hd}.${b64({ ...payload, exp: payload.exp as number + 3600 })}.${sig}`);
    await expectInvalid(`${hd}.${pl}.${sig.slice(0, -2)}`);
    await expectInvalid(`${hd}.${pl}.${sig.slice(0, 43)}`);
    await expectInvalid(`${hd}.${pl}.${Buffer.alloc(64).toString('base64url')}`);
    await expectInvalid(`${hd}.${pl}.`);
    await expectInvalid(`${hd}.${pl}`);
    await expectInvalid(`${hd}.${pl}.${sig}.${sig}`);
    // The untouched token is fine.
    expect((await send(h.url, '/api/home', { headers: bearer(token) })).status).toBe(200);
  });

  it('after the real token was verified (and is remembered by its signature), tokens carrying the same signature are still refused', async () => {
    const { token } = await accessToken(bob);
    const [hd, pl, sig] = token.split('.') as [string, string, string];
    expect((await send(h.url, '/api/home', { headers: bearer(token) })).status).toBe(200);
    h.upstream.received.length = 0;
    const payload = JSON.parse(Buffer.from(pl, 'base64url').toString()) as Record<string, unknown>;
    await expectInvalid(`${hd}.${b64({ ...payload, roles: ['admin'] })}.${sig}`);
    await expectInvalid(`${hd}.${b64({ ...payload, sub: alice.user.id, username: 'alice' })}.${sig}`);
    await expectInvalid(`${b64({ alg: 'EdDSA', typ: 'at+jwt' })}.${pl}.${sig}`);
    await expectInvalid(`${pl}.${sig}`);
    await expectInvalid(`.${sig}`);
    await expectInvalid(sig);
    await expectInvalid(`${hd}.${pl}.${sig}.${sig}`);
    // The real token still works, from the cache (no signature check).
    const before = calls.publicKey;
    expect((await send(h.url, '/api/home', { headers: bearer(token) })).status).toBe(200);
    expect(last().headers['x-passport']).toBeDefined();
    expect(calls.publicKey).toBe(before);
  });

  it('wrong typ: a passport used as a bearer token, a JWT without typ, an id-token style typ', async () => {
    expect((await send(h.url, '/api/home', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    const passport = last().headers['x-passport'] as string;
    h.upstream.received.length = 0;
    await expectInvalid(passport);
    const key = h.deps.keyring.signingKey();
    await expectInvalid(await signJwt(claims(bob), { typ: 'passport+jwt', key }));
    await expectInvalid(await signJwt(claims(bob), { typ: 'JWT', key }));
    await expectInvalid(await signJwt(claims(bob), { typ: 'application/at+jwt', key }));
    await expectInvalid(await signRaw({ alg: 'EdDSA', kid: kid() }, claims(bob)));
  });

  it('wrong aud (a service name, a list) and wrong iss', async () => {
    const key = h.deps.keyring.signingKey();
    await expectInvalid(await signJwt(claims(bob, { aud: 'home' }), { typ: 'at+jwt', key }));
    await expectInvalid(await signJwt(claims(bob, { aud: [issuer, 'home'] }), { typ: 'at+jwt', key }));
    await expectInvalid(await signJwt(claims(bob, { iss: 'https://evil.example' }), { typ: 'at+jwt', key }));
    await expectInvalid(await signJwt(claims(bob, { iss: `${issuer}/` }), { typ: 'at+jwt', key }));
    // Missing claims the passport needs.
    await expectInvalid(await signJwt(claims(bob, { sid: undefined }), { typ: 'at+jwt', key }));
    await expectInvalid(await signJwt(claims(bob, { roles: 'admin' }), { typ: 'at+jwt', key }));
  });

  it('a refresh token, a session secret and garbage used as bearer', async () => {
    await expectInvalid(generateRefreshToken());
    await expectInvalid(alice.secret);
    await expectInvalid('gh_');
    await expectInvalid('x');
    await expectInvalid('eyJ.eyJ.');
    await expectInvalid('a'.repeat(9000));
    const r = await send(h.url, '/api/home', { headers: [['Authorization', 'Bearer a b c']] });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(CHALLENGE);
  });
});

describe('API tokens', () => {
  it('a valid API token gets a passport with auth api_token and scope, no sid or did', async () => {
    const { token } = await apiToken(bob, { scopes: ['notes:read'] });
    const r = await send(h.url, '/api/notes', { headers: bearer(token) });
    expect(r.status).toBe(200);
    const p = await h.verifyPassport(last().headers['x-passport'] as string, 'notes');
    expect(p).toMatchObject({ sub: bob.id, username: 'bob', roles: ['staff'], auth: 'api_token', scope: 'notes:read' });
    expect(p.sid).toBeUndefined();
    expect(p.did).toBeUndefined();
    // Scope rules: this token cannot write.
    const w = await send(h.url, '/api/notes', { method: 'POST', headers: bearer(token, [['Content-Type', 'application/json']]), body: '{}' });
    expect(w.status).toBe(403);
    expect(JSON.parse(w.body).code).toBe('forbidden');
  });

  it('cached: repeated use makes no store call; last use is recorded at most once per touch interval', async () => {
    const { token, record } = await apiToken(bob);
    const find0 = calls.findApiToken;
    const touch0 = calls.touchApiToken;
    for (let i = 0; i < 5; i++) expect((await send(h.url, '/api/notes', { headers: bearer(token) })).status).toBe(200);
    expect(calls.findApiToken).toBe(find0 + 1);
    expect(calls.touchApiToken).toBe(touch0 + 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await h.deps.stores.apiTokens.findByHash(record.tokenHash))?.lastUsedAt).toBe(h.clock.now());
    h.clock.advance(h.deps.config.session.touchIntervalSec * 1000);
    for (let i = 0; i < 3; i++) await send(h.url, '/api/notes', { headers: bearer(token) });
    expect(calls.touchApiToken).toBe(touch0 + 2);
  });

  it('a mistyped token (bad checksum, wrong length) is refused without a store call', async () => {
    const { token } = await apiToken(bob);
    const find0 = calls.findApiToken;
    const flipped = token.slice(0, 10) + (token[10] === 'a' ? 'b' : 'a') + token.slice(11);
    await expectInvalid(flipped);
    await expectInvalid(token.slice(0, -1));
    await expectInvalid(`${token}0`);
    expect(calls.findApiToken).toBe(find0);
    // Well-formed but unknown: one lookup, refused.
    await expectInvalid(generateApiToken());
    expect(calls.findApiToken).toBe(find0 + 1);
  });

  it('an unknown or deleted API token costs one store lookup, then none: the store has said it is not there', async () => {
    const unknown = generateApiToken();
    const find0 = calls.findApiToken;
    for (let i = 0; i < 4; i++) await expectInvalid(unknown);
    expect(calls.findApiToken).toBe(find0 + 1);
    // Deleted while not cached (e.g. on another gateway): one lookup finds it gone, then none.
    const { token, record } = await apiToken(bob);
    await h.deps.stores.apiTokens.delete(record.id, bob.id);
    const find1 = calls.findApiToken;
    for (let i = 0; i < 3; i++) await expectInvalid(token);
    expect(calls.findApiToken).toBe(find1 + 1);
    // A token that exists is not held up by others being unknown.
    const live = await apiToken(bob);
    expect((await send(h.url, '/api/notes', { headers: bearer(live.token) })).status).toBe(200);
  });

  it('an expired API token is refused, also from the cache', async () => {
    const { token } = await apiToken(bob, { expiresAt: h.clock.now() + 10_000 });
    expect((await send(h.url, '/api/notes', { headers: bearer(token) })).status).toBe(200);
    h.clock.advance(10_000);
    h.upstream.received.length = 0;
    await expectInvalid(token, '/api/notes');
    const gone = await apiToken(bob, { expiresAt: h.clock.now() - 1 });
    await expectInvalid(gone.token, '/api/notes');
  });

  it('an API token bearer decides over a cookie', async () => {
    const { token } = await apiToken(bob);
    expect((await send(h.url, '/api/notes', { headers: bearer(token, [['Cookie', alice.cookie]]) })).status).toBe(200);
    expect(await h.verifyPassport(last().headers['x-passport'] as string, 'notes')).toMatchObject({ sub: bob.id, auth: 'api_token' });
  });
});

describe('revocation (in-memory set, no store call per request)', () => {
  const publish = (e: RevocationEvent) => h.deps.feed.publish(e);

  it('a session event: that session’s access token is refused on the very next request', async () => {
    const t = await accessToken(bob);
    const other = await accessToken(bob);
    expect((await send(h.url, '/api/home', { headers: bearer(t.token) })).status).toBe(200);
    await publish({ type: 'session', sid: t.session.session.id, at: h.clock.now() });
    h.upstream.received.length = 0;
    await expectInvalid(t.token);
    // Another session of the same user is unaffected.
    expect((await send(h.url, '/api/home', { headers: bearer(other.token) })).status).toBe(200);
  });

  it('a session event also ends the cookie of that session (one shared set)', async () => {
    const s = await h.signIn(bob);
    expect((await send(h.url, '/api/home', { headers: [['Cookie', s.cookie]] })).status).toBe(200);
    await publish({ type: 'session', sid: s.session.id, at: h.clock.now() });
    expect((await send(h.url, '/api/home', { headers: [['Cookie', s.cookie]] })).status).toBe(401);
  });

  it('a user event: tokens issued before are refused, a token issued after is accepted', async () => {
    const carl = await h.createUser('carl');
    const before = await accessToken(carl);
    expect((await send(h.url, '/api/home', { headers: bearer(before.token) })).status).toBe(200);
    h.clock.advance(1_000);
    await publish({ type: 'user', userId: carl.id, notBefore: h.clock.now(), at: h.clock.now() });
    h.upstream.received.length = 0;
    await expectInvalid(before.token);
    h.clock.advance(1_000);
    const after = await accessToken(carl);
    expect((await send(h.url, '/api/home', { headers: bearer(after.token) })).status).toBe(200);
    // Another user's tokens are unaffected.
    expect((await send(h.url, '/api/home', { headers: bearer((await accessToken(bob)).token) })).status).toBe(200);
  });

  it('an access_token event: that jti is refused; a sibling token of the same session is not', async () => {
    const s = await h.signIn(bob);
    const t = await accessToken(bob, { session: s });
    const sibling = await accessToken(bob, { session: s });
    expect((await send(h.url, '/api/home', { headers: bearer(t.token) })).status).toBe(200);
    const exp = Math.floor(h.clock.now() / 1000) + 600;
    await publish({ type: 'access_token', jti: t.jti, exp, at: h.clock.now() });
    h.upstream.received.length = 0;
    await expectInvalid(t.token);
    expect((await send(h.url, '/api/home', { headers: bearer(sibling.token) })).status).toBe(200);
  });

  it('an api_token event: the cached API token is refused at once (even before the store forgets it)', async () => {
    const { token, record } = await apiToken(bob);
    expect((await send(h.url, '/api/notes', { headers: bearer(token) })).status).toBe(200);
    await publish({ type: 'api_token', tokenId: record.id, at: h.clock.now() });
    h.upstream.received.length = 0;
    await expectInvalid(token, '/api/notes');
    // Deleted in the store too: still refused after the cache TTL.
    await h.deps.stores.apiTokens.delete(record.id, bob.id);
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    await expectInvalid(token, '/api/notes');
  });

  it('entries expire after the longest access-token lifetime plus leeway', async () => {
    const s = await h.signIn(bob);
    await publish({ type: 'session', sid: s.session.id, at: h.clock.now() });
    expect((await send(h.url, '/api/home', { headers: [['Cookie', s.cookie]] })).status).toBe(401);
    // The session is deleted in the store by the auth service; the set forgets it later.
    await h.deps.stores.sessions.delete(s.session.id);
    h.clock.advance((h.deps.config.tokens.accessTokenTtlSec + 61) * 1000);
    const t = await accessToken(bob, { session: s });
    // A token naming that sid minted now would verify; the sid entry is gone (it cannot exist for real: the session is deleted).
    expect((await send(h.url, '/api/home', { headers: bearer(t.token) })).status).toBe(200);
  });

  it('warm start: a new gateway refuses tokens revoked before it started; bearer requests wait for the warm-up', async () => {
    const dora = await h.createUser('dora');
    const bySession = await accessToken(dora);
    const byJti = await accessToken(dora);
    const ok = await accessToken(dora);
    const { token: doraApi, record } = await apiToken(dora);
    const now = h.clock.now();
    // Recorded durably only (as if published before this gateway existed).
    const keep = now + 3600_000;
    await h.deps.stores.revocations.add({ type: 'session', sid: bySession.session.session.id, at: now }, keep);
    await h.deps.stores.revocations.add({ type: 'access_token', jti: byJti.jti, exp: Math.floor(now / 1000) + 600, at: now }, keep);
    await h.deps.stores.revocations.add({ type: 'api_token', tokenId: record.id, at: now }, keep);

    const revs = h.deps.stores.revocations;
    const since = revs.since.bind(revs);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    revs.since = async (t) => {
      await gate;
      return since(t);
    };
    const gw = createGateway(h.deps, { authUrl: h.auth.url, routes: api(h.upstream.url) });
    const server = createServer(gw.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      revs.since = since;
      let answered = false;
      const pending = send(url, '/api/home', { headers: bearer(bySession.token) }).then((r) => {
        answered = true;
        return r;
      });
      // Cookie requests do not wait for the warm-up.
      expect((await send(url, '/api/home', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      expect(answered).toBe(false);
      release();
      const r = await pending;
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe(CHALLENGE);
      expect((await send(url, '/api/home', { headers: bearer(byJti.token) })).status).toBe(401);
      expect((await send(url, '/api/notes', { headers: bearer(doraApi) })).status).toBe(401);
      expect((await send(url, '/api/home', { headers: bearer(ok.token) })).status).toBe(200);
    } finally {
      release();
      await gw.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    }
  });
});

describe('stores down (DESIGN §4)', () => {
  it('access tokens keep working; a cached API token works from the hot copy; an uncached one gets 503, never 200', async () => {
    const h2 = await createGatewayHarness({ routes: api });
    try {
      const user = await h2.createUser('offline');
      const s = await h2.signIn(user);
      const { token: at } = await issueAccessToken(h2.deps, { user, session: s.session, scope: 'notes:read' });
      const mk = async () => {
        const token = generateApiToken();
        await h2.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'n', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: h2.clock.now(), expiresAt: null, lastUsedAt: null });
        return token;
      };
      const cachedApi = await mk();
      const coldApi = await mk();
      // Let the revocation warm-up finish while the store is up.
      expect((await send(h2.url, '/api/notes', { headers: bearer(cachedApi) })).status).toBe(200);
      await h2.deps.stores.close();
      expect((await send(h2.url, '/api/notes', { headers: bearer(at) })).status).toBe(200);
      h2.clock.advance(h2.deps.config.session.cacheTtlMs);
      expect((await send(h2.url, '/api/notes', { headers: bearer(cachedApi) })).status).toBe(200);
      const r = await send(h2.url, '/api/notes', { headers: bearer(coldApi) });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).code).toBe('unavailable');
    } finally {
      await h2.close().catch(() => undefined);
    }
  });
});
