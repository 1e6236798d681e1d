/**
 * Gateway side of "Browser safety" and the client-IP part of "Abuse protection" (issue 6):
 * client IP and trusted proxies, cookies per upstream, `__Host-` names on https, CORS,
 * security headers, Fetch Metadata. In-process gateway, real SQLite stores, real echo upstreams.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RouteConfig } from '../config/types.js';
import { createGatewayHarness, send, type GatewayHarness, type HarnessOptions, type Reply, type SignedIn, lastReceived as last, rawValues, resetRecorders } from './test-helpers.js';

const HSTS = 'max-age=31536000; includeSubDomains';
const APP = 'https://app.example';

const routes = (upstream: string): RouteConfig[] => [
  { path: '/api/notes', upstream, service: 'notes', auth: 'required' },
  { path: '/api/public', upstream, service: 'public', auth: 'none' },
];

let pagesDir: string;
beforeAll(async () => {
  pagesDir = await mkdtemp(join(tmpdir(), 'gatehouse-pages-'));
  await mkdir(join(pagesDir, 'assets'));
  await writeFile(join(pagesDir, 'signin.html'), '<!doctype html><title>sign in</title>');
  await writeFile(join(pagesDir, 'assets', 'app.js'), 'console.log(1)');
});
afterAll(async () => {
  await rm(pagesDir, { recursive: true, force: true });
});

/** One harness per describe block, with its own config. */
function useHarness(opts: Omit<HarnessOptions, 'routes' | 'publicDir'> = {}): { h: GatewayHarness; alice: SignedIn } {
  const ctx = {} as { h: GatewayHarness; alice: SignedIn };
  beforeAll(async () => {
    ctx.h = await createGatewayHarness({ ...opts, routes, publicDir: pagesDir });
    ctx.alice = await ctx.h.signIn(await ctx.h.createUser('alice'));
  });
  afterAll(async () => {
    await ctx.h.close();
  });
  beforeEach(() => resetRecorders(ctx.h));
  return ctx;
}

function corsHeaderNames(r: Reply): string[] {
  return Object.keys(r.headers).filter((k) => k.startsWith('access-control-'));
}

describe('client IP: no trusted proxy (default)', () => {
  const ctx = useHarness();

  it('sets exactly one x-gatehouse-client-ip (the socket address), removing every client copy', async () => {
    const { h } = ctx;
    const r = await send(h.url, '/api/public', {
      headers: [
        ['X-Gatehouse-Client-IP', '6.6.6.6'],
        ['x-gatehouse-client-ip', '7.7.7.7'],
        ['X-GATEHOUSE-CLIENT-IP', '8.8.8.8'],
        ['X-Forwarded-For', '203.0.113.9'],
        ['Forwarded', 'for=203.0.113.10'],
        ['X-Real-IP', '203.0.113.11'],
      ],
    });
    expect(r.status).toBe(200);
    const rec = last(h);
    expect(rawValues(rec, 'x-gatehouse-client-ip')).toEqual(['127.0.0.1']);
    expect(rawValues(rec, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(rawValues(rec, 'forwarded')).toEqual([]);
    expect(rawValues(rec, 'x-real-ip')).toEqual([]);
  });

  it('rotating X-Forwarded-For values never change the client IP the auth service sees', async () => {
    const { h } = ctx;
    for (let i = 0; i < 5; i++) {
      await send(h.url, '/auth/signin', {
        method: 'POST',
        headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', `198.51.100.${i}`], ['x-gatehouse-client-ip', `198.51.100.${i}`]],
        body: '{}',
      });
    }
    expect(h.auth.received.map((r) => rawValues(r, 'x-gatehouse-client-ip'))).toEqual(Array.from({ length: 5 }, () => ['127.0.0.1']));
  });

  it('a Connection header cannot name the client-IP header away', async () => {
    const { h } = ctx;
    await send(h.url, '/api/public', { headers: [['Connection', 'x-gatehouse-client-ip, x-forwarded-for']] });
    expect(rawValues(last(h), 'x-gatehouse-client-ip')).toEqual(['127.0.0.1']);
    expect(rawValues(last(h), 'x-forwarded-for')).toEqual(['127.0.0.1']);
  });
});

describe('client IP: behind a trusted proxy (X-Forwarded-For)', () => {
  const ctx = useHarness({ config: (c) => void (c.gateway.trustedProxies = ['127.0.0.0/8', '10.0.0.0/8', '2001:db8::/32']) });

  it('takes the rightmost untrusted X-Forwarded-For entry (all lines joined) and forwards only the verified chain', async () => {
    const { h } = ctx;
    await send(h.url, '/api/public', {
      headers: [
        ['X-Forwarded-For', '1.1.1.1, 203.0.113.7'],
        ['x-forwarded-for', '10.0.0.2'],
        ['x-gatehouse-client-ip', '1.1.1.1'],
      ],
    });
    const rec = last(h);
    expect(rawValues(rec, 'x-gatehouse-client-ip')).toEqual(['203.0.113.7']);
    expect(rawValues(rec, 'x-forwarded-for')).toEqual(['203.0.113.7, 10.0.0.2, 127.0.0.1']);
  });

  it('IPv6 entries (bracketed, with a port, trusted /32 skipped)', async () => {
    const { h } = ctx;
    await send(h.url, '/api/public', { headers: [['X-Forwarded-For', '[2A00:1450::5]:443, 2001:db8:1::1']] });
    expect(rawValues(last(h), 'x-gatehouse-client-ip')).toEqual(['2a00:1450::5']);
  });

  it('rotating the client-controlled part of X-Forwarded-For gives the same client IP', async () => {
    const { h } = ctx;
    for (let i = 0; i < 5; i++) {
      await send(h.url, '/auth/signup', { method: 'POST', headers: [['Content-Type', 'application/json'], ['X-Forwarded-For', `198.51.100.${i}, 203.0.113.7`]], body: '{}' });
    }
    expect(new Set(h.auth.received.map((r) => r.headers['x-gatehouse-client-ip']))).toEqual(new Set(['203.0.113.7']));
  });

  it('a malformed entry stops at the last trusted hop; Forwarded is not read in this mode', async () => {
    const { h } = ctx;
    await send(h.url, '/api/public', { headers: [['X-Forwarded-For', '203.0.113.7, nonsense']] });
    expect(last(h).headers['x-gatehouse-client-ip']).toBe('127.0.0.1');
    await send(h.url, '/api/public', { headers: [['Forwarded', 'for=203.0.113.8']] });
    expect(last(h).headers['x-gatehouse-client-ip']).toBe('127.0.0.1');
  });
});

describe('client IP: behind a trusted proxy (Forwarded)', () => {
  const ctx = useHarness({
    config: (c) => {
      c.gateway.trustedProxies = ['127.0.0.1'];
      c.gateway.clientIpHeader = 'forwarded';
    },
  });

  it('reads for= from Forwarded and ignores X-Forwarded-For', async () => {
    const { h } = ctx;
    await send(h.url, '/api/public', { headers: [['Forwarded', 'for=198.51.100.1, for="[2001:db8:cafe::17]:4711";proto=https'], ['X-Forwarded-For', '203.0.113.99']] });
    const rec = last(h);
    expect(rawValues(rec, 'x-gatehouse-client-ip')).toEqual(['2001:db8:cafe::17']);
    expect(rawValues(rec, 'x-forwarded-for')).toEqual(['2001:db8:cafe::17, 127.0.0.1']);
    expect(rawValues(rec, 'forwarded')).toEqual([]);
  });
});

describe('cookies reaching upstreams (http deployment)', () => {
  const ctx = useHarness();
  const all = (secret: string) =>
    `theme=dark; gatehouse_session=${secret}; gatehouse_csrf=c; a=1; gatehouse_device=d1; gatehouse_known_device=k1; __Host-gatehouse_session=x; __Secure-gatehouse_known_device=k2; GATEHOUSE_CSRF=y; b=2=3; mygatehouse_pref=keep`;

  it('a service route gets no Gatehouse cookie at all; other cookies keep their order and values', async () => {
    const { h, alice } = ctx;
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', all(alice.secret)], ['cookie', 'z=last']] })).status).toBe(200);
    expect(last(h).headers.cookie).toBe('theme=dark; a=1; b=2=3; mygatehouse_pref=keep; z=last');
  });

  it('the auth service gets its device cookies, never the session or CSRF cookie', async () => {
    const { h, alice } = ctx;
    expect((await send(h.url, '/auth/me', { headers: [['Cookie', all(alice.secret)]] })).status).toBe(200);
    expect(last(h, 'auth').headers.cookie).toBe('theme=dark; a=1; gatehouse_device=d1; gatehouse_known_device=k1; b=2=3; mygatehouse_pref=keep');
    await send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json'], ['Cookie', 'gatehouse_known_device=k1; gatehouse_session=s; gatehouse_csrf=c']], body: '{}' });
    expect(last(h, 'auth').headers.cookie).toBe('gatehouse_known_device=k1');
  });

  it('on http only the bare session name authenticates; a prefixed or re-cased copy is ignored', async () => {
    const { h, alice } = ctx;
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', `__Host-gatehouse_session=${alice.secret}`]] })).status).toBe(401);
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', `GATEHOUSE_SESSION=${alice.secret}`]] })).status).toBe(401);
    expect(h.upstream.received).toHaveLength(0);
  });
});

describe('https public URL (gateway itself on http in the test)', () => {
  const ctx = useHarness({ config: (c) => void (c.publicUrl = 'https://gatehouse.example') });
  const host = (s: SignedIn) => `__Host-gatehouse_session=${s.secret}`;

  it('reads the session only from __Host-gatehouse_session; the bare name is stripped and ignored', async () => {
    const { h, alice } = ctx;
    expect((await send(h.url, '/api/notes', { headers: [['Cookie', host(alice)]] })).status).toBe(200);
    expect(last(h).headers.cookie).toBeUndefined();
    const bare = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie]] });
    expect(bare.status).toBe(401);
    expect(JSON.parse(bare.body).code).toBe('unauthenticated');
  });

  it('a bad session cookie is cleared under its __Host- name, Secure, Path=/', async () => {
    const { h } = ctx;
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', '__Host-gatehouse_session=bogus']] });
    expect(r.status).toBe(401);
    const set = r.headers['set-cookie'] ?? [];
    expect(set.some((c) => c.startsWith('__Host-gatehouse_session=;') && c.includes('Secure') && c.includes('Path=/') && c.includes('HttpOnly'))).toBe(true);
    expect(set.some((c) => c.startsWith('__Host-gatehouse_csrf=;') && c.includes('Secure'))).toBe(true);
    expect(set.some((c) => /Domain=/i.test(c))).toBe(false);
  });

  it('the auth service gets the prefixed device cookies only', async () => {
    const { h, alice } = ctx;
    await send(h.url, '/auth/me', {
      headers: [['Cookie', `${host(alice)}; __Host-gatehouse_csrf=c; __Host-gatehouse_device=d; gatehouse_device=tossed; __Secure-gatehouse_known_device=k; gatehouse_known_device=tossed`]],
    });
    expect(last(h, 'auth').headers.cookie).toBe('__Host-gatehouse_device=d; __Secure-gatehouse_known_device=k');
  });

  it('the CSRF Origin check uses the https origin', async () => {
    const { h, alice } = ctx;
    const post = (origin: string) =>
      send(h.url, '/api/notes', {
        method: 'POST',
        headers: [['Cookie', host(alice)], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', 'application/json'], ['Origin', origin]],
        body: '{}',
      });
    expect((await post('https://gatehouse.example')).status).toBe(200);
    expect((await post(new URL(h.url).origin)).status).toBe(403);
  });

  it('HSTS on every answer: problems, redirects, pages, JWKS, health, proxied (overriding the upstream)', async () => {
    const { h, alice } = ctx;
    h.upstream.respond = (_rec, res) => res.writeHead(200, { 'strict-transport-security': 'max-age=0', 'content-type': 'text/plain' }).end('up');
    const answers: Array<[string, Reply]> = [
      ['problem', await send(h.url, '/api/notes')],
      ['redirect', await send(h.url, '/api/notes', { headers: [['Accept', 'text/html']] })],
      ['page', await send(h.url, '/signin')],
      ['asset', await send(h.url, '/assets/app.js')],
      ['jwks', await send(h.url, '/.well-known/jwks.json')],
      ['healthz', await send(h.url, '/healthz')],
      ['not found', await send(h.url, '/nope')],
      ['proxied', await send(h.url, '/api/notes', { headers: [['Cookie', host(alice)]] })],
    ];
    for (const [name, r] of answers) expect(r.headers['strict-transport-security'], name).toBe(HSTS);
    expect(answers.at(-1)![1].body).toBe('up');
  });

  it('with HSTS set by the gateway, an upstream answer keeps every one of its repeated headers', async () => {
    const { h, alice } = ctx;
    h.upstream.respond = (_rec, res) => {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      res.setHeader('x-multi', ['one', 'two']);
      res.writeHead(200, { 'content-type': 'text/plain' }).end('up');
    };
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', host(alice)]] });
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(r.headers['x-multi']).toBe('one, two');
    expect(r.headers['strict-transport-security']).toBe(HSTS);
  });
});

describe('security headers (http deployment)', () => {
  const ctx = useHarness();

  it('never HSTS on http; nosniff on every gateway answer; no-store on problems and redirects', async () => {
    const { h, alice } = ctx;
    const problem = await send(h.url, '/api/notes');
    const redirect = await send(h.url, '/api/notes', { headers: [['Accept', 'text/html']] });
    const gatewayAnswers: Array<[string, Reply]> = [
      ['problem', problem],
      ['redirect', redirect],
      ['page', await send(h.url, '/signin')],
      ['jwks', await send(h.url, '/.well-known/jwks.json')],
      ['discovery', await send(h.url, '/.well-known/openid-configuration')],
      ['healthz', await send(h.url, '/healthz')],
      ['readyz', await send(h.url, '/readyz')],
      ['metrics', await send(h.url, '/metrics')],
      ['405', await send(h.url, '/healthz', { method: 'POST' })],
      ['404', await send(h.url, '/nope')],
      ['400', await send(h.url, '/api/../x')],
      ['preflight 403', await send(h.url, '/api/notes', { method: 'OPTIONS', headers: [['Origin', APP], ['Access-Control-Request-Method', 'POST']] })],
    ];
    for (const [name, r] of gatewayAnswers) {
      expect(r.headers['x-content-type-options'], name).toBe('nosniff');
      expect(r.headers['strict-transport-security'], name).toBeUndefined();
    }
    expect(problem.headers['cache-control']).toBe('no-store');
    expect(redirect.headers['cache-control']).toBe('no-store');
    const page = gatewayAnswers[2]![1];
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    const proxied = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie]] });
    expect(proxied.status).toBe(200);
    expect(proxied.headers['strict-transport-security']).toBeUndefined();
    expect(proxied.headers['x-upstream']).toBe('echo');
  });
});

describe('CORS off (default)', () => {
  const ctx = useHarness();

  it('preflights to routed paths get 403 cors without any CORS header and never reach the upstream', async () => {
    const { h } = ctx;
    for (const origin of [APP, 'null', new URL(h.url).origin]) {
      const r = await send(h.url, '/api/notes', { method: 'OPTIONS', headers: [['Origin', origin], ['Access-Control-Request-Method', 'POST']] });
      expect(r.status, origin).toBe(403);
      expect(JSON.parse(r.body).code).toBe('cors');
      expect(corsHeaderNames(r)).toEqual([]);
    }
    expect(h.upstream.received).toHaveLength(0);
  });

  it('actual answers carry no CORS header, even when the upstream reflects the origin', async () => {
    const { h, alice } = ctx;
    h.upstream.respond = (rec, res) =>
      res.writeHead(200, { 'access-control-allow-origin': String(rec.headers.origin), 'access-control-allow-credentials': 'true', vary: 'Accept' }).end('{}');
    const r = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie], ['Origin', 'https://evil.example']] });
    expect(r.status).toBe(200);
    expect(corsHeaderNames(r)).toEqual([]);
    expect(r.headers.vary).toBe('Accept');
    const p = await send(h.url, '/api/notes', { headers: [['Origin', APP]] });
    expect(corsHeaderNames(p)).toEqual([]);
  });
});

describe('CORS on (allow-list)', () => {
  const ctx = useHarness({ config: (c) => void (c.cors.origins = [APP, 'http://localhost:5173']) });
  const preflight = (h: GatewayHarness, origin: string) =>
    send(h.url, '/api/notes', { method: 'OPTIONS', headers: [['Origin', origin], ['Access-Control-Request-Method', 'DELETE'], ['Access-Control-Request-Headers', 'x-csrf-token']] });

  it('answers a preflight from an allowed origin with 204 and that origin (never *), without calling the upstream', async () => {
    const { h } = ctx;
    const r = await preflight(h, APP);
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-methods']).toContain('DELETE');
    expect(r.headers['access-control-allow-headers']).toBe('content-type, authorization, x-csrf-token');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers.vary).toContain('Origin');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(h.upstream.received).toHaveLength(0);
  });

  it.each(['https://evil.example', 'null', 'https://app.example.evil.example', 'https://APP.example', 'http://app.example', `${APP}/`])(
    'refuses the preflight of %s with 403 cors and no CORS header',
    async (origin) => {
      const r = await preflight(ctx.h, origin);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body).code).toBe('cors');
      expect(corsHeaderNames(r)).toEqual([]);
    },
  );

  it('actual answers to an allowed origin carry its ACAO, credentials and Vary: Origin; problems too', async () => {
    const { h, alice } = ctx;
    h.upstream.respond = (_rec, res) => res.writeHead(200, { 'access-control-allow-origin': '*', vary: 'Accept', 'content-type': 'application/json' }).end('{}');
    const ok = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie], ['Origin', APP]] });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(ok.headers.vary).toBe('Accept, Origin');
    const denied = await send(h.url, '/api/notes', { headers: [['Origin', APP]] });
    expect(denied.status).toBe(401);
    expect(denied.headers['access-control-allow-origin']).toBe(APP);
    expect(denied.headers['access-control-expose-headers']).toContain('www-authenticate');
  });

  it('a foreign, null or duplicated Origin never gets an ACAO header (not even the upstream\'s *)', async () => {
    const { h, alice } = ctx;
    h.upstream.respond = (_rec, res) => res.writeHead(200, { 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' }).end('{}');
    for (const origins of [['https://evil.example'], ['null'], [APP, APP], [APP, 'https://evil.example']]) {
      const r = await send(h.url, '/api/notes', { headers: [['Cookie', alice.cookie], ...origins.map((o): [string, string] => ['Origin', o])] });
      expect(r.status).toBe(200);
      expect(corsHeaderNames(r), origins.join()).toEqual([]);
      expect(r.headers.vary).toBe('Origin');
    }
  });

  it('an allowed origin passes the CSRF Origin check but still needs the token; a foreign one never does', async () => {
    const { h, alice } = ctx;
    const write = (origin: string, token?: string) =>
      send(h.url, '/api/notes', {
        method: 'POST',
        headers: [['Cookie', alice.cookie], ['Content-Type', 'application/json'], ['Origin', origin], ['Sec-Fetch-Site', 'cross-site'], ...(token ? [['X-CSRF-Token', token] as [string, string]] : [])],
        body: '{}',
      });
    const ok = await write(APP, alice.session.csrfToken);
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    const noToken = await write(APP);
    expect(noToken.status).toBe(403);
    expect(JSON.parse(noToken.body).code).toBe('csrf');
    expect((await write('https://evil.example', alice.session.csrfToken)).status).toBe(403);
    expect((await write('null', alice.session.csrfToken)).status).toBe(403);
    expect(h.upstream.received).toHaveLength(1);
  });

  it('sign-in from an allowed origin reaches the auth service; from a foreign one it does not', async () => {
    const { h } = ctx;
    const signin = (origin: string) =>
      send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json'], ['Origin', origin], ['Sec-Fetch-Site', 'cross-site']], body: '{}' });
    expect((await signin(APP)).status).toBe(200);
    expect((await signin('https://evil.example')).status).toBe(403);
    expect(h.auth.received).toHaveLength(1);
  });
});

describe('CORS without credentials', () => {
  const ctx = useHarness({
    config: (c) => {
      c.cors.origins = [APP];
      c.cors.allowCredentials = false;
      c.cors.maxAgeSec = 60;
    },
  });

  it('sends no Access-Control-Allow-Credentials', async () => {
    const { h } = ctx;
    const p = await send(h.url, '/api/public', { method: 'OPTIONS', headers: [['Origin', APP], ['Access-Control-Request-Method', 'GET']] });
    expect(p.status).toBe(204);
    expect(p.headers['access-control-allow-credentials']).toBeUndefined();
    expect(p.headers['access-control-max-age']).toBe('60');
    const r = await send(h.url, '/api/public', { headers: [['Origin', APP]] });
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('Fetch Metadata and Origin (CSRF)', () => {
  const ctx = useHarness();
  const write = (headers: Array<[string, string]>, path = '/api/notes') =>
    send(ctx.h.url, path, {
      method: 'POST',
      headers: [['Cookie', ctx.alice.cookie], ['Content-Type', 'application/json'], ['X-CSRF-Token', ctx.alice.session.csrfToken], ...headers],
      body: '{}',
    });

  it('Sec-Fetch-Site: cross-site on a cookie write is refused, with or without Origin', async () => {
    expect((await write([['Sec-Fetch-Site', 'cross-site']])).status).toBe(403);
    expect((await write([['Sec-Fetch-Site', 'Cross-Site'], ['Origin', 'https://evil.example']])).status).toBe(403);
    expect((await write([['Sec-Fetch-Site', 'cross-site'], ['Origin', new URL(ctx.h.url).origin]])).status).toBe(403);
    expect(ctx.h.upstream.received).toHaveLength(0);
  });

  it('Sec-Fetch-Site: same-site (a sibling subdomain) is refused unless the Origin is the gateway\'s own', async () => {
    const r = await write([['Sec-Fetch-Site', 'same-site']]);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).code).toBe('csrf');
    expect((await write([['Sec-Fetch-Site', 'same-site'], ['Origin', 'http://sibling.127.0.0.1.nip.io']])).status).toBe(403);
    expect(ctx.h.upstream.received).toHaveLength(0);
    expect((await write([['Sec-Fetch-Site', 'same-site'], ['Origin', new URL(ctx.h.url).origin]])).status).toBe(200);
  });

  it('two Sec-Fetch-Site headers or a null Origin are refused', async () => {
    expect((await write([['Sec-Fetch-Site', 'same-origin'], ['Sec-Fetch-Site', 'same-origin']])).status).toBe(403);
    expect((await write([['Origin', 'null']])).status).toBe(403);
  });

  it('Sec-Fetch-Site: none (typed URL) without Origin passes on a GET, and for a same-origin write', async () => {
    expect((await send(ctx.h.url, '/api/notes', { headers: [['Cookie', ctx.alice.cookie], ['Sec-Fetch-Site', 'none']] })).status).toBe(200);
    expect((await write([['Sec-Fetch-Site', 'same-origin'], ['Origin', new URL(ctx.h.url).origin]])).status).toBe(200);
  });

  it('login CSRF: a same-site or cross-site sign-in never reaches the auth service; none/same-origin do', async () => {
    const { h } = ctx;
    const signin = (headers: Array<[string, string]>) => send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json'], ...headers], body: '{}' });
    expect((await signin([['Sec-Fetch-Site', 'same-site']])).status).toBe(403);
    expect((await signin([['Sec-Fetch-Site', 'cross-site']])).status).toBe(403);
    expect((await signin([['Origin', 'null']])).status).toBe(403);
    expect(h.auth.received).toHaveLength(0);
    expect((await signin([['Sec-Fetch-Site', 'none']])).status).toBe(200);
    expect((await signin([['Sec-Fetch-Site', 'same-origin'], ['Origin', new URL(h.url).origin]])).status).toBe(200);
    expect(h.auth.received).toHaveLength(2);
  });
});
