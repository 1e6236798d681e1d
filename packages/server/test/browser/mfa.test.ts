import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt, TOTP_PERIOD_SEC } from '../../src/auth/mfa/totp.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 17: an authenticator app set up from the account page, the secret read from the page and
// the codes computed here (as the app would); then the sign-in page asks for the code.
describe.skipIf(!haveChromium)('two-step sign-in with an authenticator app, in a real browser', () => {
  const suite = useGatehouseInChromium();
  const PASSWORD = 'two step journey passphrase';
  const USERNAME = 'totp-user';
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    page = await context.newPage();
    problems = watchConsole(page);
    const res = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username: USERNAME, password: PASSWORD }) });
    expect(res.status).toBe(201);
  });

  it('sets up the app from the account page (QR code and key), confirms it, then sign-in asks for the code', async () => {
    await signInWithPage(page, suite.gh.url, USERNAME, PASSWORD, '/account');
    await expect.poll(() => page.textContent('#mfa-status')).toMatch(/Off/);
    await page.fill('#mfa-password', PASSWORD);
    await page.click('#mfa-enrol');
    await expect.poll(() => page.isVisible('#mfa-setup')).toBe(true);
    const secret = ((await page.textContent('#mfa-secret')) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(await page.getAttribute('#mfa-qr', 'src')).toMatch(/^data:image\/svg\+xml,/);
    // The image really rendered (a broken data URL has no natural size).
    await expect.poll(() => page.evaluate('document.getElementById("mfa-qr").naturalWidth')).toBeGreaterThan(0);
    await shots(page, 'account-mfa-setup');

    const confirmedAt = Date.now();
    await page.fill('#mfa-confirm-code', totpCodeAt(secret, confirmedAt));
    await page.click('#mfa-confirm-form button[type=submit]');
    await expect.poll(() => page.isVisible('#mfa-codes')).toBe(true);
    const codes = await page.locator('#mfa-codes-list > li').allTextContents();
    expect(codes).toHaveLength(10);
    await expect.poll(() => page.textContent('#mfa-status')).toMatch(/On/);
    await expect.poll(() => page.textContent('#activity-list')).toMatch(/Authenticator app turned on/);

    // Signed out: the password alone no longer signs in; the page asks for the code.
    await page.context().clearCookies();
    await page.goto(`${suite.gh.url}/signin`);
    await page.fill('#username', USERNAME);
    await page.fill('#password', PASSWORD);
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.isVisible('#mfa-form')).toBe(true);
    expect((await page.context().cookies()).some((c) => c.name === 'gatehouse_session')).toBe(false);
    // The confirming code's step is used: the same code is refused in place.
    await page.fill('#mfa-code', totpCodeAt(secret, confirmedAt));
    await page.click('#mfa-form button[type=submit]');
    await expect.poll(() => page.textContent('#mfa-code-error')).toMatch(/wrong or was used/);
    await shots(page, 'signin-mfa');
    // The step after the confirming one (inside the accepted window: the test takes seconds) signs in.
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), (async () => {
      await page.fill('#mfa-code', totpCodeAt(secret, confirmedAt + TOTP_PERIOD_SEC * 1000));
      await page.click('#mfa-form button[type=submit]');
    })()]);
    expect((await page.context().cookies()).some((c) => c.name === 'gatehouse_session')).toBe(true);
    expect(problems).toEqual([]);
  });
});
