import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndIn } from '../e2e/harness.js';
import { haveChromium, shots, signInWithPage, useGatehouseInChromium } from './browser-helpers.js';

// The script of the foreign page: with the victim's cookies (credentials: 'include'), it tries
// to write a note, create an API token, sign the victim out everywhere, and sign the browser in
// as the attacker (login CSRF). `no-cors` "simple" requests are the ones a browser sends
// cross-origin without asking first, so the gateway itself has to refuse them.
const EVIL_SCRIPT = `
const gw = new URLSearchParams(location.search).get('gw');
const send = (path, body) => fetch(gw + path, {
  method: 'POST', mode: 'no-cors', credentials: 'include',
  headers: { 'Content-Type': 'text/plain' }, body: body === undefined ? undefined : JSON.stringify(body),
}).catch(() => null);
Promise.all([
  send('/api/notes', { text: 'written by the attacker' }),
  send('/auth/api-tokens', { name: 'attacker token' }),
  send('/auth/signout-all'),
  send('/auth/signin', { username: 'attacker', password: 'attacker passphrase 1' }),
]).then(() => { document.getElementById('done').textContent = 'done'; });
`;
const EVIL_PAGE = '<!doctype html><title>Free prizes</title><h1>You won!</h1><p id="done"></p><script src="/evil.js"></script>';

describe.skipIf(!haveChromium)('browser defences: CSRF refusal and the lockout message', () => {
  const suite = useGatehouseInChromium();
  let evil: Server;
  let evilUrl: string;

  beforeAll(async () => {
    evil = createServer((req, res) => {
      if (req.url?.startsWith('/evil.js')) {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(EVIL_SCRIPT);
      } else {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(EVIL_PAGE);
      }
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => evil?.close(resolve));
  });

  it('refuses writes and a sign-in sent by a page on another origin, and nothing changes', async () => {
    await signUpAndIn(suite.gh.url, 'attacker', 'attacker passphrase 1');
    const victim = await signUpAndIn(suite.gh.url, 'victim', 'victim passphrase 1');
    expect(victim.csrf).toBeTruthy();

    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await signInWithPage(page, suite.gh.url, 'victim', 'victim passphrase 1', '/notes');
    await page.fill('#note-text', 'my own note');
    await page.click('#note-form button[type=submit]');
    await expect.poll(() => page.textContent('#notes-list')).toContain('my own note');
    const sessionBefore = (await context.cookies(suite.gh.url)).find((c) => c.name === 'gatehouse_session')?.value;
    expect(sessionBefore).toBeTruthy();

    // Another tab of the same browser (same cookie jar) opens the foreign page. Its origin
    // differs only by port: same-site, so the SameSite=Lax session cookie does go along.
    const evilPage = await context.newPage();
    const answers: Array<{ path: string; status: number }> = [];
    evilPage.on('response', (r) => {
      if (r.url().startsWith(suite.gh.url)) answers.push({ path: new URL(r.url()).pathname, status: r.status() });
    });
    await evilPage.goto(`${evilUrl}/?gw=${encodeURIComponent(suite.gh.url)}`);
    await expect.poll(() => evilPage.textContent('#done')).toBe('done');
    expect(answers.map((a) => a.path).sort()).toEqual(['/api/notes', '/auth/api-tokens', '/auth/signin', '/auth/signout-all']);
    for (const a of answers) expect(a, a.path).toMatchObject({ status: 403 });
    await evilPage.close();

    // Nothing changed: same session, still signed in as the victim, no new note, no token.
    expect((await context.cookies(suite.gh.url)).find((c) => c.name === 'gatehouse_session')?.value).toBe(sessionBefore);
    const me = await context.request.get(`${suite.gh.url}/auth/me`);
    expect(me.status()).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('victim');
    expect(await (await context.request.get(`${suite.gh.url}/auth/api-tokens`)).json()).toEqual([]);
    await page.reload();
    await expect.poll(() => page.locator('#notes-list > li').count()).toBe(1);
    expect(await page.textContent('#notes-list')).not.toContain('attacker');
    // The victim's other session (the API client) is still alive too.
    expect((await victim.fetch('/auth/me')).status).toBe(200);
    await context.close();
  });

  it('shows a clear lockout message with the wait time after too many wrong passwords', async () => {
    await signUpAndIn(suite.gh.url, 'lock-user', 'lock user passphrase 1');
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.gh.url}/signin`);
    await page.fill('#username', 'lock-user');
    for (let i = 1; i <= 6; i++) {
      await page.fill('#password', `wrong guess ${i}`);
      await page.click('#signin-form button[type=submit]');
      await expect.poll(() => page.isEnabled('#signin-form button[type=submit]')).toBe(true);
      if (i < 6) expect(await page.textContent('#form-error')).toBe('The username or password is incorrect.');
    }
    await expect.poll(() => page.textContent('#form-error')).toMatch(/Too many failed sign-in attempts.*Try again in \d+ (minutes?|seconds?) \(at .+\)\./);
    await shots(page, 'signin-locked');
    // The right password does not pass the lock from a device that never signed in here.
    await page.fill('#password', 'lock user passphrase 1');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.isEnabled('#signin-form button[type=submit]')).toBe(true);
    expect(page.url()).toBe(`${suite.gh.url}/signin`);
    expect(await page.textContent('#form-error')).toMatch(/Try again in/);
    await context.close();
  });
});
