/**
 * Issue 12: `localhost` is not `127.0.0.1`. With no public URL, `start` serves at
 * http://127.0.0.1:<port>, but people type http://localhost:<port>: the pages showed, and every
 * sign-in answered 403 csrf ("reload the page", which never helped) with nothing in the log.
 * The loopback names of a loopback public URL (same port) are this gateway's origin too; any
 * other origin is still refused, and each refusal says in the log which origin came and which
 * was expected, and in the answer which address to open.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createGatewayHarness, send, type GatewayHarness, type HarnessOptions } from './test-helpers.js';
import { captureLogs } from '../util/log-capture.test-helpers.js';

const capture = (): ReturnType<typeof captureLogs> => captureLogs('info');

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(opts: HarnessOptions = {}) {
  const log = capture();
  h = await createGatewayHarness({ ...opts, deps: (d) => void (d.logger = log.logger) });
  const port = new URL(h.url).port;
  return { h, port, lines: log.lines };
}

const signin = (h: GatewayHarness, host: string, origin: string) =>
  send(h.url, '/auth/signin', {
    method: 'POST',
    headers: [['Host', host], ['Origin', origin], ['Content-Type', 'application/json'], ['Sec-Fetch-Site', 'same-origin']],
    body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
  });

describe('no public URL (the local one is used)', () => {
  it('a sign-in from http://localhost:<port> and http://[::1]:<port> reaches the auth service', async () => {
    const { h, port } = await harness();
    expect(new URL(h.url).hostname).toBe('127.0.0.1');
    for (const name of ['localhost', '[::1]', '127.0.0.1']) {
      const r = await signin(h, `${name}:${port}`, `http://${name}:${port}`);
      expect(r.status, name).toBe(200);
    }
    expect(h.auth.received.filter((r) => r.url === '/auth/signin')).toHaveLength(3);
  });

  it('a cookie write from http://localhost:<port> passes the Origin check', async () => {
    const { h, port } = await harness({ routes: (u) => [{ path: '/api/notes', upstream: u, service: 'notes', auth: 'required' }] });
    const alice = await h.signIn(await h.createUser('alice'));
    const r = await send(h.url, '/api/notes', {
      method: 'POST',
      headers: [['Host', `localhost:${port}`], ['Origin', `http://localhost:${port}`], ['Cookie', alice.cookie], ['X-CSRF-Token', alice.session.csrfToken], ['Content-Type', 'application/json']],
      body: '{}',
    });
    expect(r.status).toBe(200);
  });

  it('another port on localhost, https, or a foreign site is still refused, and the log names both origins', async () => {
    const { h, port, lines } = await harness();
    const other = Number(port) === 65535 ? 65534 : Number(port) + 1;
    for (const origin of [`http://localhost:${other}`, `https://localhost:${port}`, 'https://evil.example', 'null']) {
      const r = await signin(h, `localhost:${port}`, origin);
      expect(r.status, origin).toBe(403);
      const problem = JSON.parse(r.body) as { code: string; detail: string };
      expect(problem.code).toBe('csrf');
      // The page shows this detail: it names the address to open and the setting, not "reload".
      expect(problem.detail).toContain(`Open http://127.0.0.1:${port}`);
      expect(problem.detail).toContain('GATEHOUSE_PUBLIC_URL');
    }
    expect(h.auth.received).toHaveLength(0);
    const refused = lines.filter((l) => l.msg === 'cross-site request refused');
    expect(refused.map((l) => [l.level, l.origin, l.expected, l.reason])).toEqual([
      ['info', `http://localhost:${other}`, `http://127.0.0.1:${port}`, 'origin'],
      ['info', `https://localhost:${port}`, `http://127.0.0.1:${port}`, 'origin'],
      ['info', 'https://evil.example', `http://127.0.0.1:${port}`, 'origin'],
      ['info', 'null', `http://127.0.0.1:${port}`, 'origin'],
    ]);
  });

  it('a write without the CSRF token is logged with its origin too', async () => {
    const { h, port, lines } = await harness({ routes: (u) => [{ path: '/api/notes', upstream: u, service: 'notes', auth: 'required' }] });
    const alice = await h.signIn(await h.createUser('alice'));
    const r = await send(h.url, '/api/notes', { method: 'POST', headers: [['Origin', `http://localhost:${port}`], ['Cookie', alice.cookie]], body: '{}' });
    expect(r.status).toBe(403);
    expect(lines.find((l) => l.msg === 'cross-site request refused')).toMatchObject({ reason: 'token', origin: `http://localhost:${port}`, expected: `http://127.0.0.1:${port}` });
  });
});

describe('a public URL that is not loopback', () => {
  it('refuses localhost origins, unless gateway.allowedHosts names them', async () => {
    const { h, port, lines } = await harness({ config: (c) => void (c.publicUrl = 'https://auth.example.com') });
    const r = await signin(h, `localhost:${port}`, `http://localhost:${port}`);
    // (The Host check may refuse first with 421; either way nothing reaches the auth service.)
    expect([403, 421]).toContain(r.status);
    const ok = await signin(h, new URL(h.url).host, 'https://auth.example.com');
    expect(ok.status).toBe(200);
    const foreign = await signin(h, new URL(h.url).host, `http://localhost:${port}`);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'csrf' });
    expect(lines.find((l) => l.msg === 'cross-site request refused')).toMatchObject({ origin: `http://localhost:${port}`, expected: 'https://auth.example.com' });
  });

  it('an allowedHosts name is this gateway\'s origin too', async () => {
    const { h } = await harness({ config: (c) => void ((c.publicUrl = 'https://auth.example.com'), c.gateway.allowedHosts.push('intranet.example:8443')) });
    const r = await signin(h, new URL(h.url).host, 'https://intranet.example:8443');
    expect(r.status).toBe(200);
    const other = await signin(h, new URL(h.url).host, 'https://intranet.example');
    expect(other.status).toBe(403);
  });
});
