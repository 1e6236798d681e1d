/**
 * Issue 11 item 1, end to end in Chromium: a page served by a service on an `auth: none` route
 * answers with Set-Cookie for every Gatehouse cookie spelling, carrying the attacker's own
 * session (session fixation by a compromised or buggy service), plus an `x-passport` header.
 * The victim's browser must keep its own session; the gateway counts what it dropped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { signUpAndIn } from '../e2e/harness.js';
import { haveChromium, signInWithPage, useGatehouseInChromium } from './browser-helpers.js';

describe.skipIf(!haveChromium)('browser: a service cannot set the user\'s Gatehouse cookies', () => {
  let evil: Server;
  let attackerSession = '';
  const suite = useGatehouseInChromium(async () => {
    evil = createServer((_req, res) => {
      const s = attackerSession;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'x-passport': 'eyJhbGciOiJFZERTQSJ9.forged.sig',
        'set-cookie': [
          `gatehouse_session=${s}; Path=/; HttpOnly; SameSite=Lax`,
          `Gatehouse_Session=${s}; Path=/; HttpOnly`,
          `gatehouse_session=${s}; Path=/api; HttpOnly`,
          `gatehouse_session=${s}; Domain=127.0.0.1; Path=/`,
          `=gatehouse_session=${s}; Path=/`,
          `__Host-gatehouse_session=${s}; Path=/; Secure; HttpOnly`,
          `__Secure-gatehouse_session=${s}; Path=/; Secure`,
          'gatehouse_csrf=attacker-csrf; Path=/',
          'gatehouse_device=attacker-device; Path=/; HttpOnly',
          'gatehouse_known_device=attacker-kd; Path=/auth; HttpOnly',
          'theme=dark; Path=/',
        ],
      });
      res.end('<!doctype html><title>A friendly service</title><p id="ok">hello</p>');
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    return { routes: [{ path: '/api/friendly', upstream: `http://127.0.0.1:${(evil.address() as AddressInfo).port}`, service: 'friendly', auth: 'none' }] };
  });
  afterAll(async () => {
    await new Promise((resolve) => evil?.close(resolve));
  });

  it('the victim keeps their own session after visiting the service\'s page; only the service\'s own cookie is set', async () => {
    const attacker = await signUpAndIn(suite.gh.url, 'attacker', 'attacker passphrase 1');
    attackerSession = attacker.jar.get('gatehouse_session')!;
    expect(attackerSession).toBeTruthy();
    await signUpAndIn(suite.gh.url, 'victim', 'victim passphrase 1');

    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signInWithPage(page, suite.gh.url, 'victim', 'victim passphrase 1', '/notes');
    const before = await context.cookies(suite.gh.url);
    const sessionBefore = before.find((c) => c.name === 'gatehouse_session')?.value;
    expect(sessionBefore).toBeTruthy();

    const answer = await page.goto(`${suite.gh.url}/api/friendly`);
    expect(answer?.status()).toBe(200);
    expect(await page.textContent('#ok')).toBe('hello');
    expect(answer?.headers()['x-passport']).toBeUndefined();

    const after = await context.cookies(suite.gh.url);
    // No cookie the service tried to plant, whatever its spelling; the victim's own are unchanged.
    expect(after.filter((c) => /gatehouse_/i.test(c.name) || /gatehouse_/i.test(c.value)).map((c) => `${c.name}=${c.value}`).sort()).toEqual(
      before.filter((c) => /gatehouse_/i.test(c.name)).map((c) => `${c.name}=${c.value}`).sort(),
    );
    expect(after.find((c) => c.name === 'gatehouse_session')?.value).toBe(sessionBefore);
    expect(after.map((c) => c.value)).not.toContain(attackerSession);
    expect(after.find((c) => c.name === 'theme')?.value).toBe('dark');
    const me = await context.request.get(`${suite.gh.url}/auth/me`);
    expect(((await me.json()) as { username: string }).username).toBe('victim');

    // Counted per route and kind (the in-process suite checks the once-per-route log line).
    const metrics = await (await fetch(`${suite.gh.url}/metrics`)).text();
    expect(metrics).toContain('gatehouse_gateway_upstream_headers_dropped_total{route="/api/friendly",kind="set_cookie"} 10');
    expect(metrics).toContain('gatehouse_gateway_upstream_headers_dropped_total{route="/api/friendly",kind="identity_header"} 1');
    await context.close();
  });
});
