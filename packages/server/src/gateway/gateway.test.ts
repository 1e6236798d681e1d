import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PAGE_SECURITY_HEADERS } from './pages.js';
import { createGatewayHarness, deadUrl, send, type GatewayHarness, type Recorded, type SignedIn, lastReceived, rawValues } from './test-helpers.js';

let h: GatewayHarness;
let alice: SignedIn;
let admin: SignedIn;
let pagesDir: string;

const api = (upstream: string) => [
  { path: '/api/notes', upstream, service: 'notes', auth: 'required' as const, scopes: { GET: ['notes:read'], '*': ['notes:write'] } },
  { path: '/api/admin', upstream, service: 'admin', auth: 'required' as const, roles: ['admin'] },
  { path: '/api/opt', upstream, service: 'opt', auth: 'optional' as const },
  { path: '/api/public', upstream, service: 'public', auth: 'none' as const },
  { path: '/api/form', upstream, service: 'form', auth: 'required' as const, contentTypes: ['application/x-www-form-urlencoded'], maxBodyBytes: 1024 },
];

beforeAll(async () => {
  pagesDir = await mkdtemp(join(tmpdir(), 'gatehouse-pages-'));
  await mkdir(join(pagesDir, 'assets'));
  await writeFile(join(pagesDir, 'signin.html'), '<!doctype html><title>sign in</title>');
  await writeFile(join(pagesDir, 'signup.html'), '<!doctype html><title>sign up</title>');
  await writeFile(join(pagesDir, 'index.html'), '<!doctype html><title>home</title>');
  await writeFile(join(pagesDir, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(pagesDir, 'assets', 'style.css'), 'body{}');
  await writeFile(join(pagesDir, 'secret.txt'), 'not for you');
  const down = await deadUrl();
  h = await createGatewayHarness({
    publicDir: pagesDir,
    config: (c) => {
      c.gateway.upstreamHeadersTimeoutMs = 300;
      c.gateway.upstreamConnectTimeoutMs = 1000;
    },
    routes: (upstream) => [...api(upstream), { path: '/api/down', upstream: down, service: 'down', auth: 'none' }, { path: '/api/slow', upstream, service: 'slow', auth: 'none' }],
  });
  const a = await h.createUser('alice');
  alice = await h.signIn(a);
  admin = await h.signIn(await h.createUser('root', ['admin']));
});

afterAll(async () => {
  await h.close();
  await rm(pagesDir, { recursive: true, force: true });
});

beforeEach(() => {
  h.upstream.received.length = 0;
  h.auth.received.length = 0;
  h.upstream.respond = null;
});

function last(): Recorded {
  return lastReceived(h);
}

describe('strip: identity headers never reach the upstream', () => {
  it('removes spoofed x-passport (any case, duplicated), identity headers and Connection-named headers; adds exactly one passport', async () => {
    const r = await send(h.url, '/api/notes/1', {
      headers: [
        ['Cookie', alice.cookie],
        ['x-passport', 'forged.1'],
        ['X-Passport', 'forged.2'],
        ['X-PASSPORT', 'forged.3'],
        ['x-user-id', 'admin'],
        ['X-User-Roles', 'admin'],
        ['X-Forwarded-User', 'root'],
        ['x-auth-request-user', 'root'],
        ['Remote-User', 'root'],
        ['x-roles', 'admin'],
        ['Connection', 'keep-alive, X-Secret-Hop'],
        ['X-Secret-Hop', 'hidden'],
        ['X-Kept', 'yes'],
      ],
    });
    expect(r.status).toBe(200);
    const rec = last();
    const passports = rawValues(rec, 'x-passport');
    expect(passports).toHaveLength(1);
    expect(passports[0]).not.toMatch(/forged/);
    const claims = await h.verifyPassport(passports[0]!, 'notes');
    expect(claims).toMatchObject({ sub: alice.user.id, username: 'alice', roles: [], sid: alice.session.id, did: alice.session.deviceId, auth: 'session' });
    expect(claims.scope).toBeUndefined();
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);
    for (const name of ['x-user-id', 'x-user-roles', 'x-forwarded-user', 'x-auth-request-user', 'remote-user', 'x-roles', 'x-secret-hop']) {
      expect(rawValues(rec, name), name).toEqual([]);
    }
    expect(rec.headers['x-kept']).toBe('yes');
  });

  it('never forwards Authorization or the gateway cookies, but passes other cookies and sets x-forwarded-*', async () => {
    const r = await send(h.url, '/api/opt?x=1', {
      headers: [
        ['Cookie', `theme=dark; ${alice.cookie}; gatehouse_csrf=abc`],
        ['cookie', 'lang=en'],
        ['Authorization', 'Basic dXNlcjpwYXNz'],
        ['X-Forwarded-For', '203.0.113.9'],
        ['X-Forwarded-Proto', 'https'],
      ],
    });
    expect(r.status).toBe(200);
    const rec = last();
    expect(rec.url).toBe('/api/opt?x=1');
    expect(rawValues(rec, 'authorization')).toEqual([]);
    expect(rec.headers.cookie).toBe('theme=dark; lang=en');
    // No trusted proxy configured: a client-sent X-Forwarded-For is dropped, not appended to.
    expect(rec.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(rec.headers['x-gatehouse-client-ip']).toBe('127.0.0.1');
    expect(rec.headers['x-forwarded-proto']).toBe('http');
    expect(rec.headers['x-forwarded-host']).toBe(new URL(h.url).host);
  });

  it('strips hop-by-hop headers from the response too, keeping repeated Set-Cookie', async () => {
    const r = await send(h.url, '/api/public');
    expect(r.headers['x-upstream']).toBe('echo');
    expect(r.headers['x-hop']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it('auth: none ignores credentials and sends no passport', async () => {
    const r = await send(h.url, '/api/public', { headers: [['Cookie', 'gatehouse_session=garbage'], ['x-passport', 'forged']] });
    expect(r.status).toBe(200);
    expect(rawValues(last(), 'x-passport')).toEqual([]);
  });
});

describe('authenticate', () => {
  it('no credential: 401 unauthenticated with a bare Bearer challenge, problem+json', async () => {
    const r = await send(h.url, '/api/notes');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(r.body)).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a bad cookie: 401 invalid_token with error="invalid_token" and the cookie cleared', async () => {
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', 'gatehouse_session=not-a-session']] });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
    expect(JSON.parse(r.body).code).toBe('invalid_token');
    expect(r.headers['set-cookie']?.some((c) => c.startsWith('gatehouse_session=;') && c.includes('Max-Age=0'))).toBe(true);
  });

  it('an unknown cookie costs one store read, then none; a signed-out one likewise once the store said it is gone', async () => {
    const made = `gatehouse_session=${'Q'.repeat(43)}`;
    const reads0 = h.sessionReads.count;
    for (let i = 0; i < 4; i++) expect((await send(h.url, '/api/notes', { headers: [['Cookie', made]] })).status).toBe(401);
    expect(h.sessionReads.count).toBe(reads0 + 1);
    // Ended behind this gateway's back (deleted from the store while not cached here).
    const s = await h.signIn(await h.createUser('gone-soon'));
    await h.deps.stores.sessions.delete(s.session.id);
    const reads1 = h.sessionReads.count;
    for (let i = 0; i < 3; i++) expect((await send(h.url, '/api/notes', { headers: [['Cookie', s.cookie]] })).status).toBe(401);
    expect(h.sessionReads.count).toBe(reads1 + 1);
    // Live sessions are unaffected.
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
  });

  it('an invalid bearer token decides over a valid cookie: 401', async () => {
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie], ['Authorization', 'bEaReR abc.def.ghi']] });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(h.upstream.received).toHaveLength(0);
  });

  it('never reads a token from the query string', async () => {
    const r = await send(h.url, '/api/notes?access_token=abc');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('unauthenticated');
  });

  it('auth: optional — none without a credential, a passport with one, 401 for a bad one', async () => {
    expect((await send(h.url, '/api/opt')).status).toBe(200);
    expect(rawValues(last(), 'x-passport')).toEqual([]);
    expect((await send(h.url, '/api/opt', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    expect(rawValues(last(), 'x-passport')).toHaveLength(1);
    expect((await send(h.url, '/api/opt', { headers: [['Cookie', 'gatehouse_session=bad']] })).status).toBe(401);
  });

  it('a page request is redirected to /signin with a same-origin next', async () => {
    const r = await send(h.url, '/api/notes/7?view=full', { headers: [['Accept', 'text/html,application/xhtml+xml']] });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/signin?next=%2Fapi%2Fnotes%2F7%3Fview%3Dfull');
    const bad = await send(h.url, '/api/notes', { headers: [['Accept', 'text/html'], ['Cookie', 'gatehouse_session=bad']] });
    expect(bad.status).toBe(302);
    expect(bad.headers['set-cookie']?.[0]).toMatch(/^gatehouse_session=;/);
    // An ended session's cookie: the sign-in page is told why it is shown (issue 12); no cookie: no flag.
    expect(bad.headers.location).toBe('/signin?next=%2Fapi%2Fnotes&reason=signed_out');
    // A POST is never redirected.
    expect((await send(h.url, '/api/notes', { method: 'POST', headers: [['Accept', 'text/html']] })).status).toBe(401);
  });

  it('an off-site next is impossible: //evil and absolute targets are refused before routing', async () => {
    const r1 = await send(h.url, '//evil.example/api/notes', { headers: [['Accept', 'text/html']] });
    expect(r1.status).toBe(400);
    expect(r1.headers.location).toBeUndefined();
    const r2 = await send(h.url, 'http://evil.example/api/notes', { headers: [['Accept', 'text/html']] });
    expect(r2.status).toBe(400);
    const r3 = await send(h.url, '/api/notes?next=//evil.example', { headers: [['Accept', 'text/html']] });
    expect(r3.headers.location).toBe('/signin?next=%2Fapi%2Fnotes%3Fnext%3D%2F%2Fevil.example');
  });

  it('an expired session is refused (sliding and absolute expiry, ManualClock)', async () => {
    const bob = await h.signIn(await h.createUser('bob-exp'), { persistent: false });
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', bob.cookie]] })).status).toBe(200);
    h.clock.advance(h.deps.config.session.browserSessionTtlSec * 1000 + 1);
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', bob.cookie]] });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).code).toBe('invalid_token');
  });

  it('revocation: a deleted session published on the feed is refused on the very next request', async () => {
    const carol = await h.signIn(await h.createUser('carol'));
    const headers: Array<[string, string]> = [['Cookie', carol.cookie]];
    expect((await send(h.url, '/api/notes', { headers })).status).toBe(200);
    await h.deps.stores.sessions.delete(carol.session.id);
    await h.deps.feed.publish({ type: 'session', sid: carol.session.id, at: h.clock.now() });
    expect((await send(h.url, '/api/notes', { headers })).status).toBe(401);
  });

  it('revocation wins even while the store still has the session (ended-sid set)', async () => {
    const dan = await h.signIn(await h.createUser('dan'));
    await h.deps.feed.publish({ type: 'session', sid: dan.session.id, at: h.clock.now() });
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', dan.cookie]] })).status).toBe(401);
  });

  it('a user revocation drops every cached session of that user', async () => {
    const u = await h.createUser('erin');
    const s1 = await h.signIn(u);
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', s1.cookie]] })).status).toBe(200);
    await h.deps.stores.sessions.deleteByUser(u.id);
    await h.deps.feed.publish({ type: 'user', userId: u.id, notBefore: h.clock.now(), at: h.clock.now() });
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', s1.cookie]] })).status).toBe(401);
  });

  it('the hot path makes no store call; a cached session is re-read after cacheTtlMs', async () => {
    const u = await h.signIn(await h.createUser('frank'));
    await send(h.url, '/api/notes', { headers: [['Cookie', u.cookie]] });
    const before = h.sessionReads.count;
    for (let i = 0; i < 5; i++) expect((await send(h.url, '/api/notes', { headers: [['Cookie', u.cookie]] })).status).toBe(200);
    expect(h.sessionReads.count).toBe(before);
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    await send(h.url, '/api/notes', { headers: [['Cookie', u.cookie]] });
    expect(h.sessionReads.count).toBe(before + 1);
  });

  it('sliding expiry: touch is written at most once per touchIntervalSec', async () => {
    const g = await h.signIn(await h.createUser('gina'));
    const headers: Array<[string, string]> = [['Cookie', g.cookie]];
    const mine = () => h.touches.filter(([id]) => id === g.session.id);
    await send(h.url, '/api/notes', { headers });
    await send(h.url, '/api/notes', { headers });
    expect(mine()).toHaveLength(0);
    h.clock.advance(h.deps.config.session.touchIntervalSec * 1000);
    await send(h.url, '/api/notes', { headers });
    await send(h.url, '/api/notes', { headers });
    await send(h.url, '/api/notes', { headers });
    expect(mine()).toHaveLength(1);
    const [, lastSeen, expires] = mine()[0]!;
    expect(lastSeen).toBe(h.clock.now());
    expect(expires).toBe(Math.min(h.clock.now() + h.deps.config.session.slidingTtlSec * 1000, g.session.absoluteExpiresAt));
    await new Promise((r) => setTimeout(r, 20));
    expect((await h.deps.stores.sessions.findById(g.session.id))?.lastSeenAt).toBe(h.clock.now());
  });
});

describe('passport cache', () => {
  it('reuses the passport (same jti) until renew time, then mints a new one', async () => {
    const u = await h.signIn(await h.createUser('hank'));
    const headers: Array<[string, string]> = [['Cookie', u.cookie]];
    await send(h.url, '/api/notes', { headers });
    const p1 = last().headers['x-passport'] as string;
    await send(h.url, '/api/notes', { headers });
    const p2 = last().headers['x-passport'] as string;
    expect(p2).toBe(p1);
    const c1 = await h.verifyPassport(p1, 'notes');
    // Another audience gets its own passport.
    await send(h.url, '/api/opt', { headers });
    const other = await h.verifyPassport(last().headers['x-passport'] as string, 'opt');
    expect(other.jti).not.toBe(c1.jti);
    const { ttlSec, renewBeforeSec } = h.deps.config.passport;
    h.clock.advance((ttlSec - renewBeforeSec) * 1000);
    await send(h.url, '/api/notes', { headers });
    const c3 = await h.verifyPassport(last().headers['x-passport'] as string, 'notes');
    expect(c3.jti).not.toBe(c1.jti);
  });

  it('concurrent requests on a cold cache share one passport', async () => {
    const u = await h.signIn(await h.createUser('iris'));
    await Promise.all(Array.from({ length: 8 }, () => send(h.url, '/api/notes', { headers: [['Cookie', u.cookie]] })));
    const jtis = new Set(h.upstream.received.map((r) => r.headers['x-passport']));
    expect(jtis.size).toBe(1);
  });
});

describe('authorize and CSRF', () => {
  it('a missing role is 403 forbidden; holding it passes', async () => {
    const r = await send(h.url, '/api/admin', { headers: [['Cookie', alice.cookie]] });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('forbidden');
    expect((await send(h.url, '/api/admin', { headers: [['Cookie', admin.cookie]] })).status).toBe(200);
    const claims = await h.verifyPassport(last().headers['x-passport'] as string, 'admin');
    expect(claims.roles).toEqual(['admin']);
  });

  const write = (headers: Array<[string, string]>) =>
    send(h.url, '/api/notes', { method: 'POST', headers: [['Cookie', alice.cookie], ['Content-Type', 'application/json'], ...headers], body: '{"text":"hi"}' });

  it.each([
    ['no token', []],
    ['a wrong token', [['X-CSRF-Token', 'wrong']]],
    ['a foreign Origin', [['X-CSRF-Token', '<ok>'], ['Origin', 'https://evil.example']]],
    ['Sec-Fetch-Site: cross-site', [['X-CSRF-Token', '<ok>'], ['Sec-Fetch-Site', 'cross-site']]],
  ] as Array<[string, Array<[string, string]>]>)('a cookie write with %s is 403 csrf', async (_name, headers) => {
    const r = await write(headers.map(([k, v]) => [k, v === '<ok>' ? alice.session.csrfToken : v]));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('csrf');
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a cookie write with the right token and own Origin passes (token not forwarded)', async () => {
    const r = await write([['X-CSRF-Token', alice.session.csrfToken], ['Origin', new URL(h.url).origin], ['Sec-Fetch-Site', 'same-origin']]);
    expect(r.status).toBe(200);
    expect(last().body).toBe('{"text":"hi"}');
    expect(last().headers['x-csrf-token']).toBeUndefined();
  });

  it('login CSRF: a cross-site sign-in never reaches the auth service', async () => {
    const body = '{"username":"alice","password":"x"}';
    const r = await send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json'], ['Origin', 'https://evil.example']], body });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('csrf');
    expect(r.headers['set-cookie']).toBeUndefined();
    const r2 = await send(h.url, '/auth/signup', { method: 'POST', headers: [['Content-Type', 'application/json'], ['Sec-Fetch-Site', 'cross-site']], body });
    expect(r2.status).toBe(403);
    expect(h.auth.received).toHaveLength(0);
    const ok = await send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json'], ['Origin', new URL(h.url).origin]], body });
    expect(ok.status).toBe(200);
    expect(h.auth.received).toHaveLength(1);
    expect(rawValues(h.auth.received[0]!, 'x-passport')).toEqual([]);
  });

  it('/auth/* needs a credential and carries an auth passport; /auth/token takes forms', async () => {
    expect((await send(h.url, '/auth/me')).status).toBe(401);
    expect((await send(h.url, '/auth/me', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    await h.verifyPassport(h.auth.received.at(-1)!.headers['x-passport'] as string, 'auth');
    const t = await send(h.url, '/auth/token', { method: 'POST', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: 'grant_type=password' });
    expect(t.status).toBe(200);
  });
});

describe('body limits and content types', () => {
  const post = (path: string, body: string, type = 'application/json') =>
    send(h.url, path, { method: 'POST', headers: [['Cookie', alice.cookie], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', type]], body });

  it('413 by Content-Length before contacting the upstream', async () => {
    const r = await post('/api/notes', 'x'.repeat(64 * 1024 + 1));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).code).toBe('payload_too_large');
    expect(h.upstream.received).toHaveLength(0);
    expect((await post('/api/form', 'a='.padEnd(1025, 'x'), 'application/x-www-form-urlencoded')).status).toBe(413);
  });

  it('413 for a chunked body past the limit, counted while streaming', async () => {
    const r = await send(h.url, '/api/form', {
      method: 'POST',
      headers: [['Cookie', alice.cookie], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', 'application/x-www-form-urlencoded']],
      chunks: ['a='.padEnd(600, 'x'), 'b='.padEnd(600, 'y')],
    });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).code).toBe('payload_too_large');
    // A chunked body within the limit streams through whole.
    const ok = await send(h.url, '/api/form', {
      method: 'POST',
      headers: [['Cookie', alice.cookie], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', 'application/x-www-form-urlencoded']],
      chunks: ['a=1&', 'b=2'],
    });
    expect(ok.status).toBe(200);
    expect(last().body).toBe('a=1&b=2');
  });

  it('a small body is read whole before the upstream call: a slow sender holds no upstream connection, one that leaves costs the upstream nothing', async () => {
    const { hostname, port } = new URL(h.url);
    const body = '{"text":"sent slowly"}';
    const head = `POST /api/public HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const started0 = h.upstream.started;
    const slow = connect(Number(port), hostname);
    let answer = '';
    slow.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const closed = new Promise((r) => slow.on('close', r));
    slow.write(head + body.slice(0, 7));
    await new Promise((r) => setTimeout(r, 150));
    expect(h.upstream.started).toBe(started0); // nothing sent upstream yet
    slow.write(body.slice(7));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(h.upstream.received.map((x) => x.body)).toEqual([body]);
    expect(h.upstream.started).toBe(started0 + 1);

    const gone = connect(Number(port), hostname);
    await new Promise((r) => gone.on('connect', r));
    gone.write(head + body.slice(0, 7));
    await new Promise((r) => setTimeout(r, 50));
    gone.destroy();
    await new Promise((r) => setTimeout(r, 150));
    expect(h.upstream.started).toBe(started0 + 1);
    expect(h.upstream.received).toHaveLength(1);
  });

  it('415 for a content type the route does not take (media type compared case-insensitively)', async () => {
    const r = await post('/api/notes', 'a=1', 'application/x-www-form-urlencoded');
    expect(r.status).toBe(415);
    expect(JSON.parse(r.body).code).toBe('unsupported_media_type');
    expect((await post('/api/notes', '{}', 'Application/JSON; charset=utf-8')).status).toBe(200);
    expect((await post('/api/form', '{}')).status).toBe(415);
  });
});

describe('upstream failures', () => {
  it('upstream down: 502 problem+json without internal detail', async () => {
    const r = await send(h.url, '/api/down');
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/problem+json');
    const p = JSON.parse(r.body);
    expect(p.code).toBe('bad_gateway');
    expect(r.body).not.toMatch(/ECONNREFUSED|undici|127\.0\.0\.1|stack/i);
  });

  it('upstream slow: 504 gateway_timeout', async () => {
    h.upstream.respond = (_rec, res) => {
      // Far past the 300 ms headers timeout: undici checks its timeouts on a coarse tick (~0.5 s), so
      // an answer at 1 s could beat it on a loaded box.
      setTimeout(() => res.writeHead(200).end('late'), 4000).unref();
    };
    const r = await send(h.url, '/api/slow');
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body).code).toBe('gateway_timeout');
  });
});

describe('paths', () => {
  it.each(['/api/notes/../admin', '/api/notes/%2e%2e/admin', '/api/notes%2f..%2fadmin', '//api/admin', '/api/notes/..%2Fadmin', '/api\\admin'])('refuses %s with 400 invalid_request', async (p) => {
    const r = await send(h.url, p, { headers: [['Cookie', admin.cookie]] });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).code).toBe('invalid_request');
    expect(h.upstream.received).toHaveLength(0);
  });

  it('an encoded path reaches the route of its decoded form, no other', async () => {
    expect((await send(h.url, '/api/%61dmin', { headers: [['Cookie', alice.cookie]] })).status).toBe(403);
    expect((await send(h.url, '/api/%6eotes/1', { headers: [['Cookie', alice.cookie]] })).status).toBe(200);
    expect(last().url).toBe('/api/%6eotes/1');
  });

  it('matches on segment boundaries and answers unknown paths with 404 problem+json', async () => {
    const r = await send(h.url, '/api/notesX');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(r.body).code).toBe('not_found');
  });
});

describe('gateway endpoints and pages', () => {
  it('serves JWKS with a cache header, and OpenID discovery on the public URL', async () => {
    const j = await send(h.url, '/.well-known/jwks.json');
    expect(j.status).toBe(200);
    expect(j.headers['cache-control']).toBe('public, max-age=60');
    expect(JSON.parse(j.body)).toEqual(h.deps.keyring.jwks());
    const o = JSON.parse((await send(h.url, '/.well-known/openid-configuration')).body);
    expect(o).toMatchObject({
      issuer: h.url,
      jwks_uri: `${h.url}/.well-known/jwks.json`,
      token_endpoint: `${h.url}/auth/token`,
      revocation_endpoint: `${h.url}/auth/revoke`,
      introspection_endpoint: `${h.url}/auth/introspect`,
      device_authorization_endpoint: `${h.url}/auth/device/authorize`,
      grant_types_supported: ['password', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:gatehouse:params:oauth:grant-type:mfa-otp'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
    });
  });

  it('healthz, readyz and metrics', async () => {
    const hz = await send(h.url, '/healthz');
    expect([hz.status, JSON.parse(hz.body)]).toEqual([200, { status: 'ok' }]);
    const rz = await send(h.url, '/readyz');
    expect(rz.status).toBe(200);
    expect(JSON.parse(rz.body).stores).toMatchObject({ users: true, sessions: true });
    const m = await send(h.url, '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/gatehouse_gateway_requests_total\{route="\/api\/notes",outcome="upstream_2xx"\} \d+/);
    expect(m.body).toMatch(/gatehouse_gateway_requests_total\{route="\/api\/notes",outcome="unauthenticated"\} \d+/);
    expect(m.body).toContain('gatehouse_gateway_upstream_duration_seconds_bucket');
    expect((await send(h.url, '/healthz', { method: 'POST' })).status).toBe(405);
  });

  it.each([
    ['/signin', 'sign in', 'text/html; charset=utf-8'],
    ['/signup', 'sign up', 'text/html; charset=utf-8'],
    ['/', 'home', 'text/html; charset=utf-8'],
    ['/assets/app.js', 'console.log(1)', 'text/javascript; charset=utf-8'],
    ['/assets/style.css', 'body{}', 'text/css; charset=utf-8'],
  ])('serves %s with the page security headers', async (path, text, type) => {
    const r = await send(h.url, path);
    expect(r.status).toBe(200);
    expect(r.body).toContain(text);
    expect(r.headers['content-type']).toBe(type);
    for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) expect(r.headers[k], k).toBe(v);
  });

  it('no directory traversal out of assets', async () => {
    for (const p of ['/assets/../secret.txt', '/assets/%2e%2e/secret.txt', '/assets/..%2fsecret.txt', '/assets/secret.txt', '/assets/']) {
      const r = await send(h.url, p);
      expect([400, 404], p).toContain(r.status);
      expect(r.body).not.toContain('not for you');
    }
  });
});

describe('stores down', () => {
  it('a session the gateway has not cached gets 503 unavailable, never 200; readyz says degraded', async () => {
    const h2 = await createGatewayHarness({ routes: api });
    try {
      const s = await h2.signIn(await h2.createUser('zoe'));
      await h2.deps.stores.close();
      const r = await send(h2.url, '/api/notes', { headers: [['Cookie', s.cookie]] });
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).code).toBe('unavailable');
      expect(h2.upstream.received).toHaveLength(0);
      // Still 200: access tokens and cached sessions go on (DESIGN §4); the body says what is down.
      const rz = await send(h2.url, '/readyz');
      expect(rz.status).toBe(200);
      expect(JSON.parse(rz.body)).toMatchObject({ status: 'degraded', stores: { sessions: false }, feed: 'in-process', hotCache: 'none' });
    } finally {
      await h2.close();
    }
  });
});
