import { readFileSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/harness.js';
import { haveChromium, newContext, savedShots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 18, the admin pages: an admin finds, pages through, opens, disables, enables, signs out
// and deletes users in /admin and /admin/user, and reads the audit log in /admin/audit; a
// non-admin sees "You need the admin role"; a stale sign-in goes to re-authentication and back.
// Every step saves screenshots (test-artifacts/screenshots/admin-*.png) and checks that the pages
// logged no CSP violation or script error.

const PASSWORD = 'admin pages passphrase';
const FILLERS = 12;

async function signUp(base: string, username: string): Promise<void> {
  const res = await fetch(`${base}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(res.status, `sign-up of ${username}: ${await res.clone().text()}`).toBe(201);
}

/** An admin: signed up, then granted the role on the server (`gatehouse users grant`), before any sign-in. */
async function signUpAdmin(base: string, dataDir: string, username: string): Promise<void> {
  await signUp(base, username);
  const grant = runCli(['users', 'grant', username, 'admin'], { dataDir });
  expect(grant.code, grant.stderr).toBe(0);
}

/** The rows of the users table, as the usernames they link to. */
async function usernames(page: Page): Promise<string[]> {
  return page.locator('#users-body tr td:first-child a').allTextContents();
}

/** Whether `/auth/me` answers this browser context (its session is alive and its user may use it). */
async function meStatus(page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/auth/me')).status);
}

/** The id of the focused element. */
async function focusedId(page: Page): Promise<string> {
  return (await page.evaluate('document.activeElement ? document.activeElement.id : ""')) as string;
}

describe.skipIf(!haveChromium)('admin pages in a real browser', () => {
  const suite = useGatehouseInChromium(() => ({ signup: { perIpPerMinute: 0, autoChallenge: { globalPerMinute: 0 } } }));
  let admin: BrowserContext;
  let page: Page;
  let problems: string[];
  let target: BrowserContext;
  let targetPage: Page;
  let targetId = '';

  beforeAll(async () => {
    const base = suite.gh.url;
    await signUpAdmin(base, suite.dataDir, 'root-admin');
    await signUp(base, 'target-user');
    await signUp(base, 'plain-user');
    for (let i = 1; i <= FILLERS; i++) await signUp(base, `filler-${String(i).padStart(2, '0')}`);
    admin = await newContext(suite.browser, base);
    page = await admin.newPage();
    problems = watchConsole(page);
    target = await newContext(suite.browser, base);
    targetPage = await target.newPage();
    await signInWithPage(targetPage, base, 'target-user', PASSWORD, '/account');
  }, 60_000);

  it('sends a visitor without a session to sign-in, and the admin back to /admin after it', async () => {
    await page.goto(`${suite.gh.url}/admin`);
    await page.waitForURL(`${suite.gh.url}/signin?next=%2Fadmin`);
    await page.fill('#username', 'root-admin');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${suite.gh.url}/admin`), page.click('#signin-form button[type=submit]')]);
    await expect.poll(() => page.locator('#users-body tr').count()).toBe(3 + FILLERS);
    expect(await page.isVisible('#admin-denied')).toBe(false);
  }, 30_000);

  it('searches by username prefix, filters by role and status, and pages next and back', async () => {
    // Ten a page: fifteen users make two pages, newest first.
    await page.selectOption('#users-limit', '10');
    await page.click('#users-filter button[type=submit]');
    await expect.poll(() => page.locator('#users-body tr').count()).toBe(10);
    const first = await usernames(page);
    expect(first[0]).toBe(`filler-${FILLERS}`);
    expect(await page.textContent('#users-page')).toBe('Page 1');
    expect(await page.isDisabled('#users-prev')).toBe(true);
    expect(await page.isEnabled('#users-next')).toBe(true);
    expect(new URL(page.url()).searchParams.get('limit')).toBe('10');
    await savedShots(page, 'admin-users');

    await page.click('#users-next');
    await expect.poll(() => page.textContent('#users-page')).toBe('Page 2');
    const second = await usernames(page);
    expect(second).toHaveLength(3 + FILLERS - 10);
    expect(second.at(-1)).toBe('root-admin'); // the oldest
    expect(second.filter((n) => first.includes(n))).toEqual([]);
    expect(await page.isDisabled('#users-next')).toBe(true);
    expect(await page.textContent('#users-status')).toMatch(/^Page 2: 5 users\./);
    await savedShots(page, 'admin-users-page-2');

    await page.click('#users-prev');
    await expect.poll(() => page.textContent('#users-page')).toBe('Page 1');
    expect(await usernames(page)).toEqual(first);
    expect(await page.isDisabled('#users-prev')).toBe(true);

    // Username prefix.
    await page.fill('#users-q', 'filler-1');
    await page.click('#users-filter button[type=submit]');
    await expect.poll(() => usernames(page)).toEqual(['filler-12', 'filler-11', 'filler-10']);
    await savedShots(page, 'admin-users-search');
    // Role.
    await page.fill('#users-q', '');
    await page.fill('#users-role', 'admin');
    await page.click('#users-filter button[type=submit]');
    await expect.poll(() => usernames(page)).toEqual(['root-admin']);
    // Status: nobody is disabled yet.
    await page.fill('#users-role', '');
    await page.selectOption('#users-disabled', 'true');
    await page.click('#users-filter button[type=submit]');
    await expect.poll(() => page.textContent('#users-status')).toBe('No users match these filters.');
    expect(await page.locator('#users-body tr').count()).toBe(0);
    // The filters are in the address: a reload keeps them.
    await page.reload();
    await expect.poll(() => page.textContent('#users-status')).toBe('No users match these filters.');
    expect(await page.inputValue('#users-disabled')).toBe('true');
    expect(problems).toEqual([]);
  }, 40_000);

  it('opens a user: their devices with IP, tokens, factors and recent events', async () => {
    await page.goto(`${suite.gh.url}/admin?q=target-user`);
    await expect.poll(() => usernames(page)).toEqual(['target-user']);
    await Promise.all([page.waitForURL(/\/admin\/user\?id=/), page.click('#users-body a')]);
    targetId = new URL(page.url()).searchParams.get('id') ?? '';
    expect(targetId).not.toBe('');
    await expect.poll(() => page.textContent('#user-title')).toBe('target-user');
    expect(await page.textContent('#user-status')).toBe('Active');
    expect(await page.textContent('#user-id')).toBe(targetId);
    await expect.poll(() => page.locator('#sessions-list > li').count()).toBe(1);
    expect(await page.textContent('#sessions-list')).toMatch(/IP (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)/);
    expect(await page.textContent('#tokens-status')).toBe('No API tokens.');
    expect(await page.textContent('#factor-totp')).toBe('Off');
    expect(await page.textContent('#events-list')).toContain('Signed in');
    expect(await page.getAttribute('#events-more', 'href')).toBe(`/admin/audit?user=${encodeURIComponent(targetId)}`);
    await savedShots(page, 'admin-user');
    // The fragment form of the address shows the same user.
    await page.goto(`${suite.gh.url}/admin/user#id=${encodeURIComponent(targetId)}`);
    await expect.poll(() => page.textContent('#user-title')).toBe('target-user');
    expect(problems).toEqual([]);
  }, 30_000);

  it('disables after a confirmation: the user\'s own browser is signed out and refused; enable lets them back in', async () => {
    expect(await meStatus(targetPage)).toBe(200);
    // Cancel keeps the account as it is.
    await page.click('#action-disable');
    await expect.poll(() => page.isVisible('#confirm-dialog')).toBe(true);
    expect(await page.textContent('#confirm-title')).toBe('Disable target-user?');
    await savedShots(page, 'admin-confirm-disable');
    await page.click('#confirm-no');
    await expect.poll(() => page.isVisible('#confirm-dialog')).toBe(false);
    expect(await page.textContent('#user-status')).toBe('Active');
    expect(await focusedId(page)).toBe('action-disable');
    // So does Escape.
    await page.click('#action-disable');
    await expect.poll(() => page.isVisible('#confirm-dialog')).toBe(true);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.isVisible('#confirm-dialog')).toBe(false);
    expect(await page.textContent('#user-status')).toBe('Active');
    expect(await meStatus(targetPage)).toBe(200);

    await page.click('#action-disable');
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#action-status')).toBe('target-user is disabled and signed out everywhere.');
    expect(await page.textContent('#user-status')).toBe('Disabled');
    expect(await page.isVisible('#action-enable')).toBe(true);
    expect(await page.isVisible('#action-disable')).toBe(false);
    expect(await focusedId(page)).toBe('action-enable');
    await expect.poll(() => page.textContent('#sessions-status')).toBe('Signed in nowhere.');
    await savedShots(page, 'admin-user-disabled');

    // The user's browser: the account page sends it to sign-in, and sign-in says "incorrect".
    await targetPage.goto(`${suite.gh.url}/account`);
    await targetPage.waitForURL(/\/signin\?next=%2Faccount/);
    await targetPage.fill('#username', 'target-user');
    await targetPage.fill('#password', PASSWORD);
    await targetPage.click('#signin-form button[type=submit]');
    await expect.poll(() => targetPage.textContent('#form-error')).toBe('The username or password is incorrect.');
    await savedShots(targetPage, 'admin-disabled-user-signin');

    // The users table shows them under "Disabled".
    await page.goto(`${suite.gh.url}/admin?disabled=true`);
    await expect.poll(() => usernames(page)).toEqual(['target-user']);
    await Promise.all([page.waitForURL(/\/admin\/user\?id=/), page.click('#users-body a')]);
    await expect.poll(() => page.textContent('#user-status')).toBe('Disabled');

    // Enable needs no confirmation; the user signs in again.
    await page.click('#action-enable');
    await expect.poll(() => page.textContent('#action-status')).toMatch(/^target-user is enabled/);
    expect(await page.textContent('#user-status')).toBe('Active');
    expect(await focusedId(page)).toBe('action-disable');
    await signInWithPage(targetPage, suite.gh.url, 'target-user', PASSWORD, '/account');
    expect(await meStatus(targetPage)).toBe(200);
    expect(problems).toEqual([]);
  }, 40_000);

  it('ends all sessions of a user after a confirmation', async () => {
    await page.reload();
    await expect.poll(() => page.locator('#sessions-list > li').count()).toBe(1);
    await page.click('#action-signout-all');
    expect(await page.textContent('#confirm-title')).toBe('End all sessions of target-user?');
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#action-status')).toBe('1 session was ended.');
    await expect.poll(() => page.textContent('#sessions-status')).toBe('Signed in nowhere.');
    expect(await meStatus(targetPage)).toBe(401);
    await savedShots(page, 'admin-user-signed-out');
    expect(problems).toEqual([]);
  }, 30_000);

  it('signs out one device, requires a password change, and shows a working reset link once with a copy button', async () => {
    const base = suite.gh.url;
    await signInWithPage(targetPage, base, 'target-user', PASSWORD, '/account');
    await page.reload();
    await expect.poll(() => page.locator('#sessions-list > li').count()).toBe(1);
    await page.click('#sessions-list button');
    expect(await page.textContent('#confirm-title')).toMatch(/^Sign out .+\?$/);
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#action-status')).toMatch(/ was signed out\.$/);
    await expect.poll(() => page.textContent('#sessions-status')).toBe('Signed in nowhere.');
    expect(await focusedId(page)).toBe('sessions-title');
    expect(await meStatus(targetPage)).toBe(401);

    await page.click('#action-require-password');
    expect(await page.textContent('#confirm-title')).toBe('Require target-user to change their password?');
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#action-status')).toBe('target-user must change their password at the next sign-in.');
    await expect.poll(() => page.textContent('#user-password')).toMatch(/must be changed at the next sign-in/);

    // The reset link: after a confirmation, shown once, copied, then gone from the page.
    await page.click('#action-reset-link');
    await page.click('#confirm-yes');
    await expect.poll(() => page.isVisible('#reset-link')).toBe(true);
    const link = await page.inputValue('#reset-link-value');
    expect(link).toMatch(/\/reset-password#token=[A-Za-z0-9_-]{20,}$/);
    expect(await focusedId(page)).toBe('reset-link-value'); // selected, ready to copy
    await page.click('#reset-link-copy');
    await expect.poll(() => page.textContent('#reset-link-copy-status')).toBe('Copied to the clipboard.');
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(link);
    await savedShots(page, 'admin-reset-link');
    await page.click('#reset-link-done');
    expect(await page.isVisible('#reset-link')).toBe(false);
    expect(await page.inputValue('#reset-link-value')).toBe('');
    expect(await focusedId(page)).toBe('action-reset-link');
    await page.reload();
    await expect.poll(() => page.textContent('#user-title')).toBe('target-user');
    expect(await page.isVisible('#reset-link')).toBe(false);

    // The link is real: its token sets a new password (which clears the forced change), once.
    const token = new URL(link).hash.slice('#token='.length);
    const reset = (password: string) =>
      fetch(`${base}/auth/password/reset`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ token, password }) });
    expect((await reset(PASSWORD)).status).toBeLessThan(300);
    expect((await reset(PASSWORD)).status).toBe(400);
    await page.reload();
    await expect.poll(() => page.textContent('#user-password')).toBe('Set');
    expect(problems).toEqual([]);
  }, 40_000);

  it('edits roles, and refuses to let an admin drop their own admin role', async () => {
    await page.click('#action-roles');
    expect(await page.getAttribute('#action-roles', 'aria-expanded')).toBe('true');
    await page.fill('#roles-input', 'support, auditor');
    await page.click('#roles-form button[type=submit]');
    await expect.poll(() => page.textContent('#action-status')).toBe('Roles of target-user: support, auditor.');
    expect(await page.locator('#user-roles code').allTextContents()).toEqual(['support', 'auditor']);

    // On their own page, an admin cannot take their own admin role away (409 last_admin).
    await page.goto(`${suite.gh.url}/admin?role=admin`);
    await expect.poll(() => usernames(page)).toEqual(['root-admin']);
    await Promise.all([page.waitForURL(/\/admin\/user\?id=/), page.click('#users-body a')]);
    await expect.poll(() => page.textContent('#user-title')).toBe('root-admin');
    await page.click('#action-roles');
    await page.fill('#roles-input', '');
    await page.click('#roles-form button[type=submit]');
    await expect.poll(() => page.textContent('#roles-error')).not.toBe('');
    expect(await page.getAttribute('#roles-input', 'aria-invalid')).toBe('true');
    expect(await page.locator('#user-roles code').allTextContents()).toEqual(['admin']);
    await savedShots(page, 'admin-roles-last-admin');
    expect(problems).toEqual([]);
  }, 30_000);

  it('deletes only after the username is typed; the user is gone from the list', async () => {
    await page.goto(`${suite.gh.url}/admin/user?id=${encodeURIComponent(targetId)}`);
    await expect.poll(() => page.textContent('#user-title')).toBe('target-user');
    await page.click('#action-delete');
    await expect.poll(() => page.isVisible('#confirm-typed-input')).toBe(true);
    expect(await focusedId(page)).toBe('confirm-typed-input');
    await page.fill('#confirm-typed-input', 'target-use');
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#confirm-typed-error')).toBe('Type the username exactly as shown to confirm.');
    expect(await page.isVisible('#confirm-dialog')).toBe(true);
    await savedShots(page, 'admin-confirm-delete');
    await page.fill('#confirm-typed-input', 'target-user');
    await page.click('#confirm-yes');
    await expect.poll(() => page.textContent('#user-deleted-text')).toBe('target-user was deleted.');
    expect(await page.isVisible('#admin')).toBe(false);
    await savedShots(page, 'admin-user-deleted');

    await page.goto(`${suite.gh.url}/admin?q=target-user`);
    await expect.poll(() => page.textContent('#users-status')).toBe('No users match these filters.');
    // The audit log keeps their events under a pseudonym, which lists them all.
    await page.goto(`${suite.gh.url}/admin/audit?type=account.deleted`);
    await expect.poll(() => page.locator('#audit-body tr').count()).toBe(1);
    const pseudonymous = page.locator('#audit-body a', { hasText: /^Deleted user / });
    expect(await pseudonymous.getAttribute('href')).toMatch(/^\/admin\/audit\?user=deleted%3A[A-Za-z0-9_-]{22}$/);
    await Promise.all([page.waitForURL(/\/admin\/audit\?user=deleted/), pseudonymous.click()]);
    await expect.poll(() => page.locator('#audit-body tr').count()).toBeGreaterThan(3);
    expect(await page.textContent('#audit-body')).toContain('account.disabled');
    expect(await page.textContent('#audit-body')).not.toContain('target-user');
    await savedShots(page, 'admin-audit-deleted-user');
    // Its page now says so.
    await page.goto(`${suite.gh.url}/admin/user?id=${encodeURIComponent(targetId)}`);
    await expect.poll(() => page.textContent('#loading')).toMatch(/\S/);
    await expect.poll(() => page.isVisible('#admin')).toBe(false);
    expect(problems).toEqual([]);
  }, 30_000);

  it('filters the audit log by type, user and time, pages it, and exports the same filters', async () => {
    await page.goto(`${suite.gh.url}/admin/audit`);
    await expect.poll(() => page.locator('#audit-body tr').count()).toBeGreaterThan(0);
    // More than one page of events by now (fifteen sign-ups, sign-ins, every admin call).
    expect(await page.isEnabled('#audit-next')).toBe(true);
    await page.click('#audit-next');
    await expect.poll(() => page.textContent('#audit-page')).toBe('Page 2');
    await page.click('#audit-prev');
    await expect.poll(() => page.textContent('#audit-page')).toBe('Page 1');

    await page.fill('#audit-type', 'account.disabled');
    await page.click('#audit-filter button[type=submit]');
    await expect.poll(() => page.locator('#audit-body tr').count()).toBe(1);
    expect(await page.textContent('#audit-body')).toContain('account.disabled');
    expect(new URL(page.url()).searchParams.get('type')).toBe('account.disabled');
    await savedShots(page, 'admin-audit');

    // The admin's own admin calls, in a time range that holds them all.
    const adminId = await page.evaluate(async () => ((await (await fetch('/auth/me')).json()) as { id: string }).id);
    await page.fill('#audit-type', 'admin.action');
    await page.fill('#audit-user', adminId);
    await page.fill('#audit-from', '2000-01-01T00:00');
    await page.click('#audit-filter button[type=submit]');
    await expect.poll(() => page.textContent('#audit-status')).toMatch(/events?\.$/);
    const types = await page.locator('#audit-body tr td:nth-child(2) code').allTextContents();
    expect(types.length).toBeGreaterThan(0);
    expect(new Set(types)).toEqual(new Set(['admin.action']));
    // A range in the past holds none.
    await page.fill('#audit-to', '2000-01-02T00:00');
    await page.click('#audit-filter button[type=submit]');
    await expect.poll(() => page.textContent('#audit-status')).toBe('No events match these filters.');
    // The end before the start is refused at the field.
    await page.fill('#audit-to', '1999-01-01T00:00');
    await page.click('#audit-filter button[type=submit]');
    await expect.poll(() => page.textContent('#audit-to-error')).toBe('The end is before the start.');
    await page.fill('#audit-to', '');
    await page.click('#audit-filter button[type=submit]');
    await expect.poll(() => page.locator('#audit-body tr').count()).toBeGreaterThan(0);

    const href = (await page.getAttribute('#audit-export', 'href')) ?? '';
    const exportUrl = new URL(href, suite.gh.url);
    expect(exportUrl.pathname).toBe('/auth/admin/audit/export');
    expect(exportUrl.searchParams.get('type')).toBe('admin.action');
    expect(exportUrl.searchParams.get('user')).toBe(adminId);
    expect(exportUrl.searchParams.get('from')).toBe(new Date('2000-01-01T00:00').toISOString());
    const exported = await page.evaluate(async (url) => {
      const r = await fetch(url);
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    }, href);
    expect(exported.status).toBe(200);
    expect(exported.type).toMatch(/application\/x-ndjson/);
    const lines = exported.body.trim().split('\n').map((l) => JSON.parse(l) as { type: string; user_id: string });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.type === 'admin.action' && l.user_id === adminId)).toBe(true);
    // Clicking the link downloads the file and stays on the page.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#audit-export')]);
    expect(download.suggestedFilename()).toMatch(/^gatehouse-audit-.*\.ndjson$/);
    const saved = await download.path();
    expect(readFileSync(saved, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(lines.length);
    expect(new URL(page.url()).pathname).toBe('/admin/audit');
    await expect.poll(() => page.textContent('#audit-status')).toMatch(/downloading/);
    expect(problems).toEqual([]);
  }, 40_000);

  it('links to /admin from the account page for admins only; a non-admin sees "You need the admin role"', async () => {
    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.isVisible('#admin-link')).toBe(true);
    expect(await page.getAttribute('#admin-link a', 'href')).toBe('/admin');

    const plain = await newContext(suite.browser, suite.gh.url);
    const plainPage = await plain.newPage();
    const plainProblems = watchConsole(plainPage);
    await signInWithPage(plainPage, suite.gh.url, 'plain-user', PASSWORD, '/account');
    await expect.poll(() => plainPage.textContent('#username')).toBe('plain-user');
    expect(await plainPage.isVisible('#admin-link')).toBe(false);
    for (const path of ['/admin', '/admin/audit', `/admin/user?id=${encodeURIComponent(targetId)}`]) {
      await plainPage.goto(`${suite.gh.url}${path}`);
      await expect.poll(() => plainPage.isVisible('#admin-denied')).toBe(true);
      expect(await plainPage.textContent('#admin-denied-title')).toBe('You need the admin role');
      expect(await plainPage.textContent('#admin-denied-detail')).toMatch(/admin/);
      expect(await plainPage.isVisible('#admin')).toBe(false);
      expect(await plainPage.isVisible('#loading')).toBe(false);
    }
    await savedShots(plainPage, 'admin-denied');
    expect(plainProblems).toEqual([]);
    await plain.close();
    expect(problems).toEqual([]);
  }, 30_000);
});

describe.skipIf(!haveChromium)('admin pages after the sign-in grows stale (admin.maxAuthAgeSec)', () => {
  const MAX_AGE_SEC = 8; // short (the config takes 5), yet far more than a loaded box needs to sign in and show the page
  const suite = useGatehouseInChromium(() => ({ admin: { maxAuthAgeSec: MAX_AGE_SEC } }));

  it('sends the page to re-authentication and back, on the same session', async () => {
    const base = suite.gh.url;
    await signUpAdmin(base, suite.dataDir, 'stale-admin');
    const context = await newContext(suite.browser, base);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await signInWithPage(page, base, 'stale-admin', PASSWORD, '/admin/audit?type=signup');
    await expect.poll(() => page.locator('#audit-body tr').count()).toBe(1);
    const cookieBefore = (await context.cookies()).find((c) => c.name === 'gatehouse_session')?.value;

    await new Promise((r) => setTimeout(r, (MAX_AGE_SEC + 1) * 1000));
    await page.reload();
    await page.waitForURL(/\/signin\?reauth=1&next=/);
    expect(new URL(page.url()).searchParams.get('next')).toBe('/admin/audit?type=signup');
    await expect.poll(() => page.textContent('h1')).toBe('Confirm it’s you');
    await savedShots(page, 'admin-reauth');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${base}/admin/audit?type=signup`), page.click('#signin-form button[type=submit]')]);
    await expect.poll(() => page.locator('#audit-body tr').count()).toBe(1);
    expect((await context.cookies()).find((c) => c.name === 'gatehouse_session')?.value).toBe(cookieBefore);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);
});

describe.skipIf(!haveChromium)('admin pages when admin calls need a second factor (admin.requireMfa)', () => {
  const suite = useGatehouseInChromium(() => ({ admin: { requireMfa: true } }));

  it('sends a password-only sign-in to re-authentication with a second factor', async () => {
    const base = suite.gh.url;
    await signUpAdmin(base, suite.dataDir, 'mfa-admin');
    const context = await newContext(suite.browser, base);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await signInWithPage(page, base, 'mfa-admin', PASSWORD);
    await page.goto(`${base}/admin?q=mfa`);
    await page.waitForURL(/\/signin\?reauth=1&/);
    const url = new URL(page.url());
    expect(url.searchParams.get('next')).toBe('/admin?q=mfa');
    expect(url.searchParams.get('mfa')).toBe('1');
    await expect.poll(() => page.textContent('#signin-notice')).toMatch(/second factor/);
    expect(await page.isVisible('#reauth-code')).toBe(true);
    expect(problems).toEqual([]);
    await context.close();
  }, 30_000);
});
