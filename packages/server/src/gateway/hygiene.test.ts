/**
 * Request/response hygiene (issue 11, items 1, 5, 6, 9), each attack reproduced against a real
 * gateway with real echo upstreams: an upstream setting the user's Gatehouse cookies or identity
 * headers; Host header trust (two Host headers, client-sent X-Forwarded-*, foreign hosts);
 * `Connection` nominating a checked header; a 413 the client must be able to read while it is
 * still sending.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import type { RouteConfig } from '../config/types.js';
import { HostPolicy } from './host-policy.js';
import { LINGER_MAX_BYTES, LINGER_MAX_MS } from './pipeline/respond/respond.js';
import { createGatewayHarness, send, type GatewayHarness, type HarnessOptions, lastReceived as last, rawValues, resetRecorders } from './test-helpers.js';

const routes = (upstream: string): RouteConfig[] => [
  { path: '/api/public', upstream, service: 'public', auth: 'none' },
  { path: '/api/small', upstream, service: 'small', auth: 'none', maxBodyBytes: 1024 },
];

function useHarness(opts: Omit<HarnessOptions, 'routes'> = {}): { h: GatewayHarness; port: number } {
  const ctx = {} as { h: GatewayHarness; port: number };
  beforeAll(async () => {
    ctx.h = await createGatewayHarness({ ...opts, routes });
    ctx.port = Number(new URL(ctx.h.url).port);
  });
  afterAll(async () => {
    await ctx.h.close();
  });
  beforeEach(() => resetRecorders(ctx.h));
  return ctx;
}

/** Writes bytes as they are on a fresh connection; collects the answer until the gateway closes or `waitMs` pass. */
function raw(port: number, data: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish() : reject(err)));
    socket.write(data, 'latin1');
  });
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);

/** Every Gatehouse cookie spelling a service might send: names, cases, prefixes, attributes, nameless tricks. */
const PLANTED = [
  'gatehouse_session=attacker-session; Path=/; HttpOnly; SameSite=Lax',
  'GATEHOUSE_SESSION=attacker-session; Path=/',
  'gatehouse_csrf=attacker-csrf; Path=/',
  'gatehouse_device=attacker-device; Path=/; HttpOnly',
  'gatehouse_known_device=attacker-kd; Path=/auth; HttpOnly',
  '__Host-gatehouse_session=attacker-session; Path=/; Secure; HttpOnly',
  '__Host-gatehouse_csrf=attacker-csrf; Path=/; Secure',
  '__Host-gatehouse_device=attacker-device; Path=/; Secure',
  '__Secure-gatehouse_known_device=attacker-kd; Path=/auth; Secure',
  '__secure-Gatehouse_Session=attacker-session; Path=/; Secure',
  'gatehouse_session=attacker-session; Domain=127.0.0.1; Path=/api',
  'gatehouse_session=; Max-Age=0; Path=/',
  '=gatehouse_session=attacker-session; Path=/',
  'gatehouse_session',
];

describe('item 1: upstream answers never set Gatehouse cookies nor carry identity headers', () => {
  const ctx = useHarness();

  it('a service on an auth: none route sends every Gatehouse cookie spelling and x-passport: the client gets none of it, the rest passes', async () => {
    const { h } = ctx;
    const warn = vi.spyOn(h.deps.logger, 'warn');
    h.upstream.respond = (_rec, res) => {
      res.setHeader('set-cookie', ['theme=dark; Path=/', ...PLANTED, 'lang=en; Path=/']);
      res.setHeader('x-passport', 'eyJhbGciOiJFZERTQSJ9.forged.sig');
      res.setHeader('X-User-Id', 'admin');
      res.setHeader('x-roles', 'admin');
      res.setHeader('x-kept', 'yes');
      res.end('{}');
    };
    for (let i = 0; i < 3; i++) {
      const r = await send(h.url, '/api/public');
      expect(r.status).toBe(200);
      expect(r.headers['set-cookie']).toEqual(['theme=dark; Path=/', 'lang=en; Path=/']);
      expect(r.headers['x-passport']).toBeUndefined();
      expect(r.headers['x-user-id']).toBeUndefined();
      expect(r.headers['x-roles']).toBeUndefined();
      expect(r.headers['x-kept']).toBe('yes');
    }
    // Counted every time, per route and kind; logged once for the route, by name, never a value.
    const metrics = await send(h.url, '/metrics');
    expect(metrics.body).toContain(`gatehouse_gateway_upstream_headers_dropped_total{route="/api/public",kind="set_cookie"} ${3 * PLANTED.length}`);
    expect(metrics.body).toContain('gatehouse_gateway_upstream_headers_dropped_total{route="/api/public",kind="identity_header"} 9');
    const logged = warn.mock.calls.filter((c) => JSON.stringify(c).includes('/api/public'));
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged)).not.toMatch(/attacker|forged/);
    warn.mockRestore();
  });

  it('a service with only Gatehouse cookies leaves no Set-Cookie at all', async () => {
    const { h } = ctx;
    h.upstream.respond = (_rec, res) => {
      res.setHeader('set-cookie', 'gatehouse_session=attacker; Path=/');
      res.end('{}');
    };
    const r = await send(h.url, '/api/public');
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('the auth service itself still sets and clears Gatehouse cookies (sign-in), but never identity headers', async () => {
    const { h } = ctx;
    const cookies = ['gatehouse_session=real; Path=/; HttpOnly; SameSite=Lax', 'gatehouse_csrf=token; Path=/; SameSite=Lax', 'gatehouse_known_device=kd; Path=/auth; HttpOnly'];
    h.auth.respond = (_rec, res) => {
      res.setHeader('set-cookie', cookies);
      res.setHeader('x-passport', 'forged');
      res.end('{}');
    };
    const r = await send(h.url, '/auth/signin', { method: 'POST', headers: [['Content-Type', 'application/json']], body: '{"username":"a","password":"b"}' });
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual(cookies);
    expect(r.headers['x-passport']).toBeUndefined();
  });
});

describe('item 5: Host header trust (loopback public URL, as `npm start` without GATEHOUSE_PUBLIC_URL)', () => {
  const ctx = useHarness();

  it('two Host headers: 400, on routed paths and the gateway\'s own endpoints alike; nothing reaches the upstream', async () => {
    const { h, port } = ctx;
    for (const path of ['/api/public', '/healthz']) {
      const text = await raw(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
      expect(statusOf(text), path).toBe(400);
      expect(text).toContain('"code":"invalid_request"');
    }
    const same = await raw(port, `GET /api/public HTTP/1.1\r\nhost: localhost\r\nHOST: localhost\r\nConnection: close\r\n\r\n`);
    expect(statusOf(same)).toBe(400);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a client\'s Host, X-Forwarded-Host, -Proto and -Port never reach the upstream (no trusted proxy): the gateway\'s own values do, once each', async () => {
    const { h, port } = ctx;
    const text = await raw(
      port,
      `GET /api/public HTTP/1.1\r\nHost: localhost:${port}\r\nX-Forwarded-Host: evil.example\r\nx-forwarded-host: evil2.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nConnection: close\r\n\r\n`,
    );
    expect(statusOf(text)).toBe(200);
    const rec = last(h);
    expect(rawValues(rec, 'x-forwarded-host')).toEqual([`127.0.0.1:${port}`]);
    expect(rawValues(rec, 'x-forwarded-proto')).toEqual(['http']);
    expect(rawValues(rec, 'x-forwarded-port')).toEqual([]);
    expect(JSON.stringify(rec.rawHeaders)).not.toMatch(/evil|localhost/);
  });

  it('the loopback names stay allowed (any port, any case); a foreign host gets 421 and never reaches the upstream', async () => {
    const { h, port } = ctx;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, 'localhost', '127.0.0.1:8080']) {
      const text = await raw(port, `GET /api/public HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(text), host).toBe(200);
    }
    const before = h.upstream.received.length;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, `localhost.evil.example:${port}`]) {
      const text = await raw(port, `GET /api/public HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(text), host).toBe(421);
      expect(text).toContain('"code":"misdirected_request"');
    }
    // Sign-in too (DNS rebinding): refused before the auth service is called.
    const signin = await raw(port, `POST /auth/signin HTTP/1.1\r\nHost: evil.example:${port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    expect(statusOf(signin)).toBe(421);
    expect(h.upstream.received).toHaveLength(before);
    expect(h.auth.received).toHaveLength(0);
  });
});

describe('item 5: Host header trust (a public URL is set)', () => {
  const ctx = useHarness({
    config: (c) => {
      c.publicUrl = 'https://gatehouse.example';
      c.gateway.allowedHosts = ['api.gatehouse.example:8443'];
    },
  });

  it('only the public host and the allowed hosts are served on routed paths; the gateway\'s own endpoints answer any host (probes, JWKS)', async () => {
    const { h, port } = ctx;
    for (const host of ['gatehouse.example', 'GateHouse.Example', 'gatehouse.example:443', 'api.gatehouse.example:8443']) {
      const text = await raw(port, `GET /api/public HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(text), host).toBe(200);
      expect(rawValues(last(h), 'x-forwarded-host')).toEqual(['gatehouse.example']);
      expect(rawValues(last(h), 'x-forwarded-proto')).toEqual(['https']);
      expect(rawValues(last(h), 'x-forwarded-port')).toEqual([]);
    }
    for (const host of ['evil.example', 'localhost', `127.0.0.2:${port}`, 'api.gatehouse.example', 'gatehouse.example.evil.example']) {
      const text = await raw(port, `GET /api/public HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(statusOf(text), host).toBe(421);
    }
    const health = await raw(port, `GET /healthz HTTP/1.1\r\nHost: 10.1.2.3:8080\r\nConnection: close\r\n\r\n`);
    expect(statusOf(health)).toBe(200);
  });
});

describe('item 5: behind a trusted proxy', () => {
  const ctx = useHarness({
    config: (c) => {
      c.publicUrl = 'https://gatehouse.example';
      c.gateway.trustedProxies = ['127.0.0.0/8'];
    },
  });

  it('the proxy\'s X-Forwarded-Host/-Proto/-Port are believed and checked; a foreign forwarded host gets 421', async () => {
    const { h, port } = ctx;
    const ok = await raw(port, `GET /api/public HTTP/1.1\r\nHost: gatehouse-internal:8080\r\nX-Forwarded-Host: gatehouse.example\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Port: 8443\r\nConnection: close\r\n\r\n`);
    expect(statusOf(ok)).toBe(200);
    expect(rawValues(last(h), 'x-forwarded-host')).toEqual(['gatehouse.example']);
    expect(rawValues(last(h), 'x-forwarded-proto')).toEqual(['https']);
    expect(rawValues(last(h), 'x-forwarded-port')).toEqual(['8443']);
    const bad = await raw(port, `GET /api/public HTTP/1.1\r\nHost: gatehouse.example\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n`);
    expect(statusOf(bad)).toBe(421);
    // Junk proto or port from the proxy: the gateway's own values.
    const junk = await raw(port, `GET /api/public HTTP/1.1\r\nHost: gatehouse.example\r\nX-Forwarded-Proto: gopher\r\nX-Forwarded-Port: 99999999\r\nConnection: close\r\n\r\n`);
    expect(statusOf(junk)).toBe(200);
    expect(rawValues(last(h), 'x-forwarded-proto')).toEqual(['https']);
    expect(rawValues(last(h), 'x-forwarded-port')).toEqual([]);
  });
});

describe('item 5: listening on every interface without a public URL', () => {
  const ctx = useHarness({ config: (c) => void (c.host = '0.0.0.0') });

  it('the names clients use are unknown, so any Host is served; upstreams still get the gateway\'s own forwarded host', async () => {
    const { h, port } = ctx;
    const text = await raw(port, `GET /api/public HTTP/1.1\r\nHost: gatehouse.lan:${port}\r\nX-Forwarded-Host: evil.example\r\nConnection: close\r\n\r\n`);
    expect(statusOf(text)).toBe(200);
    expect(rawValues(last(h), 'x-forwarded-host')).toEqual([`127.0.0.1:${port}`]);
  });
});

describe('item 6: Connection cannot remove a header after it was checked', () => {
  const ctx = useHarness();

  it.each(['content-type', 'Content-Type', 'content-length', 'transfer-encoding', 'host', 'cookie', 'authorization', 'origin'])(
    'Connection: close, %s is refused with 400 and nothing reaches the upstream',
    async (name) => {
      const { h, port } = ctx;
      const text = await raw(
        port,
        `POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nCookie: a=1\r\nConnection: close, ${name}\r\n\r\n{"a":1}`,
      );
      expect(statusOf(text)).toBe(400);
      expect(text).toContain('"code":"invalid_request"');
      expect(h.upstream.received).toHaveLength(0);
    },
  );

  it('the attack itself: a JSON-only route never forwards a body without the Content-Type that passed the 415 check', async () => {
    const { h, port } = ctx;
    const text = await raw(port, `POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 7\r\nConnection: close, content-type\r\n\r\n{"a":1}`);
    expect(statusOf(text)).toBe(400);
    expect(h.upstream.received).toHaveLength(0);
    // Control: other headers may still be named (and are removed), the checked ones pass.
    const ok = await raw(port, `POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 7\r\nX-Hop: 1\r\nConnection: close, x-hop\r\n\r\n{"a":1}`);
    expect(statusOf(ok)).toBe(200);
    expect(last(h).headers['content-type']).toBe('application/json');
    expect(last(h).headers['x-hop']).toBeUndefined();
  });
});

/**
 * A client that writes its whole body before it reads anything (as many HTTP clients do): it
 * does not read while it sends, the body going out in pieces over about 300 ms, then reads.
 * Resolves with what it could read, and whether the connection was reset.
 */
function sendAllThenRead(port: number, head: string, parts: string[]): Promise<{ text: string; reset: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let reset = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), reset });
    };
    const timer = setTimeout(finish, 5000);
    socket.on('error', () => {
      reset = true;
      finish();
    });
    socket.on('close', finish);
    socket.on('connect', async () => {
      // Read nothing until every byte is written: the answer waits in the kernel meanwhile.
      socket.pause();
      socket.write(head);
      for (const p of parts) {
        await new Promise((r) => setTimeout(r, 20));
        if (done) return;
        socket.write(p);
      }
      // Give a reset every chance to arrive before reading.
      await new Promise((r) => setTimeout(r, 200));
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.resume();
    });
  });
}

describe('item 9: a 413 reaches a client that is still sending', () => {
  const ctx = useHarness();

  it('Content-Length over the limit: the client sends 512 KiB over 300 ms, then reads the 413 (no reset)', async () => {
    const { h, port } = ctx;
    const parts = Array.from({ length: 16 }, () => 'x'.repeat(32 * 1024));
    const head = `POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${16 * 32 * 1024}\r\n\r\n`;
    const r = await sendAllThenRead(port, head, parts);
    expect(r.reset).toBe(false);
    expect(statusOf(r.text)).toBe(413);
    expect(r.text).toContain('"code":"payload_too_large"');
    expect(r.text).toMatch(/\r\nconnection: close\r\n/i);
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a chunked body past the limit: the 413 is read after the client sent it all', async () => {
    const { port } = ctx;
    const head = `POST /api/small HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const piece = 'y'.repeat(32 * 1024);
    const parts = Array.from({ length: 16 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`);
    parts.push('0\r\n\r\n');
    const r = await sendAllThenRead(port, head, parts);
    expect(r.reset).toBe(false);
    expect(statusOf(r.text)).toBe(413);
  });

  it(`the lingering is bounded by bytes: a client that keeps sending is cut off after ${LINGER_MAX_BYTES / 1024 / 1024} MiB, before the timer`, async () => {
    const { port } = ctx;
    // Half-open allowed: the client keeps sending after the gateway's FIN (Node would answer it with its own).
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => socket.on('connect', r));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', () => {});
    let open = true;
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    void closed.then(() => (open = false));
    socket.write(`POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 'z');
    const started = Date.now();
    let sent = 0;
    for (; open && sent < 64 * 1024 * 1024 && Date.now() - started < 4000; sent += chunk.length) {
      if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 4000))]);
    // Cut mid-body (a reset, so the connection closes here although this client allows half-open):
    // without the bound the gateway would read all 64 MiB and never close this side.
    expect(open).toBe(false);
    expect(sent).toBeLessThan(32 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(LINGER_MAX_MS);
    expect(statusOf(answer)).toBe(413);
    socket.destroy();
  });

  it(`the lingering is bounded in time: a client that trickles its body is cut off after ${LINGER_MAX_MS / 1000} s`, async () => {
    const { port } = ctx;
    // Half-open allowed: the client keeps sending after the gateway's FIN (Node would answer it with its own).
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => socket.on('connect', r));
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', () => {});
    let open = true;
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    void closed.then(() => (open = false));
    socket.write(`POST /api/public HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
    const started = Date.now();
    while (open && Date.now() - started < LINGER_MAX_MS + 2000) {
      socket.write('x'.repeat(100));
      await new Promise((r) => setTimeout(r, 50));
    }
    const elapsed = Date.now() - started;
    expect(open).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(LINGER_MAX_MS - 100);
    expect(elapsed).toBeLessThan(LINGER_MAX_MS + 1500);
    expect(statusOf(answer)).toBe(413);
    socket.destroy();
  });
});

describe('gateway.allowedHosts (config) and the host policy', () => {
  const load = (json: unknown) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-hosts-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify(json));
    return loadConfig({ env: { GATEHOUSE_CONFIG: file } });
  };

  it('defaults to none; takes names, name:port, bracketed IPv6 and "*"', () => {
    expect(DEFAULTS.gateway.allowedHosts).toEqual([]);
    expect(load({ gateway: { allowedHosts: ['api.example.com', 'gw.internal:8080', '[2001:db8::1]:8443', '10.0.0.5', '*'] } }).gateway.allowedHosts).toHaveLength(5);
  });

  it.each([['https://api.example.com'], ['api.example.com/path'], ['user@api.example.com'], ['api example'], ['api.example.com:http'], ['']])('refuses %j, naming the key', (entry) => {
    expect(() => load({ gateway: { allowedHosts: [entry] } })).toThrow(ConfigError);
    expect(() => load({ gateway: { allowedHosts: [entry] } })).toThrow(/gateway\.allowedHosts/);
  });

  const policy = (publicUrl: string, allowedHosts: string[] = [], host = '127.0.0.1') => {
    const c = structuredClone(DEFAULTS);
    c.publicUrl = publicUrl;
    c.host = host;
    c.gateway.allowedHosts = allowedHosts;
    return new HostPolicy(c);
  };

  it('a configured public URL: its host (ports 80/443 too when it names none) and the allowed hosts, any case', () => {
    const p = policy('https://gatehouse.example', ['gw.internal:8080', '[2001:db8::1]']);
    for (const ok of ['gatehouse.example', 'GATEHOUSE.example:443', 'gatehouse.example:80', 'gw.internal:8080', '[2001:db8::1]', '[2001:DB8::1]:443']) expect(p.allows(ok), ok).toBe(true);
    for (const bad of ['gatehouse.example:8443', 'gw.internal', 'evil.example', 'localhost', '127.0.0.1:8080', '[::1]', 'gatehouse.example.', '']) expect(p.allows(bad), bad).toBe(false);
  });

  it('a loopback public URL allows every loopback name on any port, nothing else', () => {
    const p = policy('http://127.0.0.1:8080');
    for (const ok of ['127.0.0.1:8080', 'localhost:8080', 'localhost', '[::1]:9', 'LocalHost:1']) expect(p.allows(ok), ok).toBe(true);
    for (const bad of ['evil.example:8080', 'localhost.evil.example', '127.0.0.1.nip.io:8080', 'localhost:80:80', '[::1']) expect(p.allows(bad), bad).toBe(false);
  });

  it('not enforced with "*", or when listening on every interface without a public URL (start filled in the loopback one)', () => {
    expect(policy('https://gatehouse.example', ['*']).allows('anything.example')).toBe(true);
    expect(policy('http://127.0.0.1:8080', [], '0.0.0.0').allows('gatehouse.lan:8080')).toBe(true);
    expect(policy('http://127.0.0.1:8080', [], '::').enforced).toBe(false);
    // With allowed hosts listed, those (and loopback) are the ones.
    const listed = policy('http://127.0.0.1:8080', ['gatehouse.lan:8080'], '0.0.0.0');
    expect(listed.allows('gatehouse.lan:8080')).toBe(true);
    expect(listed.allows('evil.example:8080')).toBe(false);
  });
});
