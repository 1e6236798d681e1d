import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../src/stores/sqlite/open-sqlite-stores.js';
import { NO_PASSWORD, type Stores } from '../../src/stores/types.js';
import { systemClock } from '../../src/util/clock.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 15, the account page's "Sign-in methods": an account that signed up through identity
// providers (no password) sees its linked providers, cannot unlink the last way to sign in,
// and sets a password (the Link buttons: test/browser/federation.test.ts); the account is made
// password-less and given its identities in the store the running Gatehouse uses.
describe.skipIf(!haveChromium)('the Sign-in methods section of /account', () => {
  const suite = useGatehouseInChromium();
  const username = 'methods-user';
  let stores: Stores;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    stores = await openSqliteStores({ file: join(suite.dataDir, 'gatehouse.db'), clock: systemClock });
    const context = await newContext(suite.browser, suite.gh.url);
    page = await context.newPage();
    problems = watchConsole(page);
  });
  afterAll(async () => {
    await stores?.close();
  });

  it('lists the providers; the last one cannot be unlinked; setting a password frees it', async () => {
    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', username);
    await page.fill('#password', 'methods journey passphrase');
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), page.click('#signup-form button[type=submit]')]);
    await signInWithPage(page, suite.gh.url, username, 'methods journey passphrase', '/account');

    // As if it had signed up with Google and linked GitHub: no password, two identities.
    const user = (await stores.users.findByCanonical(username))!;
    await stores.users.setPasswordHash(user.id, NO_PASSWORD, Date.now());
    const now = Date.now();
    await stores.identities.link({ provider: 'google', subject: 'g-1', userId: user.id, email: 'methods@example.com', emailVerified: true, createdAt: now - 60_000, lastUsedAt: now });
    await stores.identities.link({ provider: 'github', subject: '4242', userId: user.id, email: null, emailVerified: false, createdAt: now, lastUsedAt: now });

    await page.reload();
    await expect.poll(() => page.locator('#methods-list > li').count()).toBe(3);
    const rows = await page.locator('#methods-list > li').allTextContents();
    expect(rows[0]).toContain('You have not set a password');
    expect(rows[1]).toContain('google');
    expect(rows[1]).toContain('methods@example.com');
    expect(rows[2]).toContain('github');
    expect(await page.isVisible('#set-password')).toBe(true);
    expect(await page.isVisible('#password-panel')).toBe(false);
    expect(await page.isEnabled('button[aria-label="Unlink github"]')).toBe(true);
    await shots(page, 'account-sign-in-methods');

    await page.click('button[aria-label="Unlink github"]');
    await expect.poll(() => page.textContent('#methods-status')).toContain('github was unlinked');
    await expect.poll(() => page.locator('#methods-list > li').count()).toBe(2);
    // The last way: the button is disabled and says why (read by screen readers too).
    const last = page.locator('button[aria-label="Unlink google"]');
    expect(await last.isDisabled()).toBe(true);
    const why = await last.getAttribute('aria-describedby');
    expect(await page.textContent(`#${why}`)).toMatch(/only way to sign in.*Set a password/);
    expect(await stores.identities.listForUser(user.id)).toHaveLength(1);

    // A weak password is refused in place; a good one is set, and the change form comes back.
    await page.fill('#set-password-new', 'password1');
    await page.click('#set-password-form button[type=submit]');
    await expect.poll(() => page.textContent('#set-password-error')).not.toBe('');
    await page.fill('#set-password-new', 'a brand new methods passphrase');
    await page.click('#set-password-form button[type=submit]');
    await expect.poll(() => page.textContent('#methods-status')).toContain('Your password was set');
    expect(await page.isVisible('#set-password')).toBe(false);
    expect(await page.isVisible('#password-panel')).toBe(true);
    await expect.poll(() => page.isEnabled('button[aria-label="Unlink google"]')).toBe(true);
    await expect.poll(() => page.textContent('#activity-list')).toContain('Password set');
    expect(await page.textContent('#activity-list')).toMatch(/Sign-in method removed\s*With github/);
    expect(problems).toEqual([]);
  });
});
