import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../../src/auth/email/smtp-server.test-helpers.js';
import { runCli } from '../e2e/harness.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 18 in a browser, with a real SMTP server: the account page's Email section (set, the
// mailed link, confirmed); the forgotten password (the link read from the SMTP server, a new
// password, signed in with it); the forced password change after `gatehouse users
// require-password-change` (the sign-in page leads to the reset page).
describe.skipIf(!haveChromium)('email verification, forgotten password and forced change in Chromium', () => {
  let smtp: TestSmtpServer;
  const suite = useGatehouseInChromium(async () => {
    smtp = await startTestSmtpServer();
    return { email: { smtpUrl: smtp.url, from: 'Gatehouse <no-reply@example.com>' } };
  });
  const PASSWORD = 'email journey passphrase';
  const NEW_PASSWORD = 'brand new journey passphrase';
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    page = await context.newPage();
    problems = watchConsole(page);
  });
  afterAll(async () => {
    await smtp?.close();
  });

  async function signup(username: string): Promise<void> {
    const res = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username, password: PASSWORD }) });
    expect(res.status).toBe(201);
  }

  it('the account page sets an address; the mailed link confirms it', async () => {
    await signup('mail-user');
    await signInWithPage(page, suite.gh.url, 'mail-user', PASSWORD, '/account');
    await expect.poll(() => page.textContent('#email-current')).toMatch(/No email address/);
    await page.fill('#email-address', 'mail-user@example.com');
    await page.fill('#email-password', PASSWORD);
    await page.click('#email-form button[type=submit]');
    await expect.poll(() => page.textContent('#email-status')).toMatch(/We sent a confirmation link to mail-user@example\.com/);
    await expect.poll(() => page.textContent('#email-current')).toMatch(/not confirmed yet/);
    await shots(page, 'account-email');

    const mail = await smtp.waitFor((m) => m.to.includes('mail-user@example.com') && m.subject === 'Confirm your email address');
    const link = /http\S+verify-email#token=\S+/.exec(mail.text)![0];
    expect(link.startsWith(`${suite.gh.url}/verify-email#token=`)).toBe(true);
    await page.goto(link);
    await expect.poll(() => page.textContent('#verify-status')).toMatch(/mail-user@example\.com is confirmed/);
    // The token left the address bar at once.
    expect(page.url()).toBe(`${suite.gh.url}/verify-email`);
    await shots(page, 'verify-email');
    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.textContent('#email-current')).toMatch(/mail-user@example\.com \(confirmed\)/);
    await expect.poll(() => page.textContent('#activity-list')).toMatch(/Email address verified/);
  });

  it('forgot -> the mail from the SMTP server -> reset -> sign in with the new password', async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    const p = await context.newPage();
    const pageProblems = watchConsole(p);
    await p.goto(`${suite.gh.url}/signin`);
    await Promise.all([p.waitForURL(`${suite.gh.url}/forgot-password`), p.click('#forgot-link')]);
    await p.fill('#forgot-name', 'mail-user');
    await p.click('#forgot-form button[type=submit]');
    await expect.poll(() => p.textContent('#forgot-status')).toMatch(/If an account with a verified email address matches/);
    await shots(p, 'forgot-password');

    const mail = await smtp.waitFor((m) => m.to.includes('mail-user@example.com') && m.subject === 'Reset your password');
    const link = /http\S+reset-password#token=\S+/.exec(mail.text)![0];
    await p.goto(link);
    expect(p.url()).toBe(`${suite.gh.url}/reset-password`);
    await p.fill('#reset-password', NEW_PASSWORD);
    await shots(p, 'reset-password');
    await p.click('#reset-form button[type=submit]');
    await expect.poll(() => p.isVisible('#reset-status')).toBe(true);
    // The other browser was signed out by the reset.
    const me = await page.evaluate(async () => (await fetch('/auth/me')).status);
    expect(me).toBe(401);
    // The used link does not work again (from another page: a fragment-only change would not reload this one).
    await p.goto(`${suite.gh.url}/signin`);
    await p.goto(link);
    await p.fill('#reset-password', 'another passphrase again');
    await p.click('#reset-form button[type=submit]');
    await expect.poll(() => p.textContent('#reset-notice')).toMatch(/does not work any more/);

    await signInWithPage(p, suite.gh.url, 'mail-user', NEW_PASSWORD, '/account');
    await smtp.waitFor((m) => m.to.includes('mail-user@example.com') && m.subject === 'Your password was reset');
    expect(pageProblems).toEqual([]);
    await context.close();
  });

  it('a forced password change: the sign-in page leads to the reset page, then the new password signs in', async () => {
    await signup('forced-user');
    const cli = runCli(['users', 'require-password-change', 'forced-user'], { dataDir: suite.dataDir });
    expect(cli.code, cli.stderr).toBe(0);
    const context = await newContext(suite.browser, suite.gh.url);
    const p = await context.newPage();
    await p.goto(`${suite.gh.url}/signin`);
    await p.fill('#username', 'forced-user');
    await p.fill('#password', PASSWORD);
    await Promise.all([p.waitForURL(`${suite.gh.url}/reset-password`), p.click('#signin-form button[type=submit]')]);
    await expect.poll(() => p.textContent('#reset-notice')).toMatch(/needs a new password/);
    await p.fill('#reset-password', NEW_PASSWORD);
    await p.click('#reset-form button[type=submit]');
    await expect.poll(() => p.isVisible('#reset-status')).toBe(true);
    await signInWithPage(p, suite.gh.url, 'forced-user', NEW_PASSWORD, '/');
    expect(problems).toEqual([]);
    await context.close();
  });
  it('removing the address asks for the current password, as a change does', async () => {
    await signup('remove-user');
    const context = await newContext(suite.browser, suite.gh.url);
    const p = await context.newPage();
    const pageProblems = watchConsole(p);
    await signInWithPage(p, suite.gh.url, 'remove-user', PASSWORD, '/account');
    await expect.poll(() => p.textContent('#email-current')).toMatch(/No email address/);
    await p.fill('#email-address', 'remove-user@example.com');
    await p.fill('#email-password', PASSWORD);
    await p.click('#email-form button[type=submit]');
    await expect.poll(() => p.textContent('#email-current')).toMatch(/remove-user@example\.com/);
    // Without the password: nothing removed, the field says why.
    await p.click('#email-remove');
    await expect.poll(() => p.textContent('#email-password-error')).toMatch(/current password/);
    // A wrong one: refused.
    await p.fill('#email-password', 'not the password at all');
    await p.click('#email-remove');
    await expect.poll(() => p.textContent('#email-password-error')).toMatch(/not right/);
    await p.reload();
    await expect.poll(() => p.textContent('#email-current')).toMatch(/remove-user@example\.com/);
    await p.fill('#email-password', PASSWORD);
    await p.click('#email-remove');
    await expect.poll(() => p.textContent('#email-status')).toMatch(/The address was removed/);
    await p.reload();
    await expect.poll(() => p.textContent('#email-current')).toMatch(/No email address/);
    expect(pageProblems).toEqual([]);
    await context.close();
  });
});
