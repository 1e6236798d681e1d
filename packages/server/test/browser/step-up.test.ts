import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt } from '../../src/auth/mfa/totp.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 17, step-up for pages: a route with `maxAuthAgeSec` sends a browser whose sign-in is too
// old to /signin?reauth=1, which asks only for the password of the signed-in user (same session)
// and returns to the page it came from; the page then gets a passport with the new auth_time.

const MAX_AGE_SEC = 2;
let upstream: Server;
let upstreamUrl = '';

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const passport = req.headers['x-passport'];
    const authTime = typeof passport === 'string' ? decodeJwt(passport).auth_time : undefined;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Billing</title><h1 id="page">Billing ${req.url}</h1><p id="auth-time">${String(authTime)}</p>`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
});

describe.skipIf(!haveChromium)('a page behind maxAuthAgeSec', () => {
  const suite = useGatehouseInChromium(() => ({ routes: [{ path: '/billing', upstream: upstreamUrl, service: 'billing', auth: 'required', maxAuthAgeSec: MAX_AGE_SEC }] }));
  const PASSWORD = 'step up passphrase here';
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    page = await context.newPage();
    problems = watchConsole(page);
  });

  it('sends a stale sign-in to re-authentication and back to the same page, same session', async () => {
    const res = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username: 'stepper', password: PASSWORD }) });
    expect(res.status).toBe(201);
    await signInWithPage(page, suite.gh.url, 'stepper', PASSWORD, '/billing/invoices?year=2026');
    expect(await page.textContent('#page')).toBe('Billing /billing/invoices?year=2026');
    const cookieBefore = (await page.context().cookies()).find((c) => c.name === 'gatehouse_session')?.value;

    await new Promise((r) => setTimeout(r, (MAX_AGE_SEC + 1) * 1000 + 100));
    await page.goto(`${suite.gh.url}/billing/invoices?year=2026`);
    await page.waitForURL(/\/signin\?reauth=1&next=/);
    await expect.poll(() => page.textContent('h1')).toBe('Confirm it’s you');
    expect(await page.isVisible('#username')).toBe(false);
    expect(await page.textContent('#signin-notice')).toMatch(/recent sign-in/);
    await shots(page, 'reauth');

    await page.fill('#password', 'not the password at all');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.textContent('#form-error')).toMatch(/incorrect/);

    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${suite.gh.url}/billing/invoices?year=2026`), page.click('#signin-form button[type=submit]')]);
    expect(await page.textContent('#page')).toBe('Billing /billing/invoices?year=2026');
    const authTime = Number(await page.textContent('#auth-time'));
    expect(Math.abs(authTime - Date.now() / 1000)).toBeLessThan(5);
    // The same session: no new cookie was set.
    expect((await page.context().cookies()).find((c) => c.name === 'gatehouse_session')?.value).toBe(cookieBefore);
    expect(problems).toEqual([]);
  }, 30_000);
});

describe.skipIf(!haveChromium)('a page behind mfa: true, for a session that signed in before the app was set up', () => {
  const suite = useGatehouseInChromium(() => ({ routes: [{ path: '/vault', upstream: upstreamUrl, service: 'vault', auth: 'required', mfa: true }] }));
  const PASSWORD = 'second factor passphrase';

  it('asks for the password and the app code, then returns to the page with amr pwd otp mfa on the same session', async () => {
    const base = suite.gh.url;
    const json = { 'content-type': 'application/json', origin: base };
    expect((await fetch(`${base}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'vaulter', password: PASSWORD }) })).status).toBe(201);
    const context = await newContext(suite.browser, base);
    const page = await context.newPage();
    const problems = watchConsole(page);
    // The page's session: the password alone (before the app exists).
    await signInWithPage(page, base, 'vaulter', PASSWORD);
    // The app is set up from another session of the same user.
    const other = await fetch(`${base}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'vaulter', password: PASSWORD }) });
    const { csrf_token } = (await other.json()) as { csrf_token: string };
    const cookie = other.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const write = { ...json, cookie, 'x-csrf-token': csrf_token };
    const enrol = await fetch(`${base}/auth/mfa/totp`, { method: 'POST', headers: write, body: JSON.stringify({ password: PASSWORD }) });
    const { secret } = (await enrol.json()) as { secret: string };
    expect((await fetch(`${base}/auth/mfa/totp/confirm`, { method: 'POST', headers: write, body: JSON.stringify({ code: totpCodeAt(secret, Date.now()) }) })).status).toBe(200);

    await page.goto(`${base}/vault/box`);
    await page.waitForURL(/\/signin\?reauth=1&next=.*&mfa=1|\/signin\?reauth=1&mfa=1/);
    await expect.poll(() => page.textContent('h1')).toBe('Confirm it’s you');
    expect(await page.textContent('#signin-notice')).toMatch(/second factor/);
    const cookieBefore = (await context.cookies()).find((c) => c.name === 'gatehouse_session')?.value;

    // A wrong code is shown at its field.
    await page.fill('#password', PASSWORD);
    await page.fill('#reauth-code', totpCodeAt(secret, Date.now()) === '000000' ? '111111' : '000000');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.textContent('#reauth-code-error')).toMatch(/wrong or was used/);

    // The next step's code (inside the ±1 window, later than the one that confirmed the app).
    await page.fill('#password', PASSWORD);
    await page.fill('#reauth-code', totpCodeAt(secret, Date.now() + 30_000));
    await Promise.all([page.waitForURL(`${base}/vault/box`), page.click('#signin-form button[type=submit]')]);
    expect(await page.textContent('#page')).toBe('Billing /vault/box');
    expect((await context.cookies()).find((c) => c.name === 'gatehouse_session')?.value).toBe(cookieBefore);
    const me = await page.evaluate(async () => (await fetch('/auth/me')).status);
    expect(me).toBe(200);
    expect(problems).toEqual([]);
    await context.close();
  }, 40_000);
});
