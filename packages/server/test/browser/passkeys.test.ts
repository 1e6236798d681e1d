import { join } from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../src/stores/sqlite/open-sqlite-stores.js';
import { NO_PASSWORD } from '../../src/stores/types.js';
import { systemClock } from '../../src/util/clock.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 17, passkeys in the pages: the account page registers one (name + current password),
// lists, renames and removes it; the sign-in page signs in with it without a password
// (discoverable credential: no username typed). Chromium's virtual authenticator (CDP
// WebAuthn domain) plays the phone or laptop: a CTAP2 platform authenticator with resident keys
// and user verification. An RP id cannot be an IP address, so the pages are opened at
// http://localhost:<port> (the RP id and origin the gateway derives from its loopback URL).
describe.skipIf(!haveChromium)('passkeys in the pages (virtual authenticator)', () => {
  const suite = useGatehouseInChromium();
  const username = 'passkey-user';
  const password = 'a passkey journey passphrase';

  async function addAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { cdp, authenticatorId };
  }

  it('registers a passkey on the account page, signs out, signs in with it (no password), renames and removes it', async () => {
    const base = suite.gh.url.replace('127.0.0.1', 'localhost');
    const context = await newContext(suite.browser, base);
    const page = await context.newPage();
    const problems = watchConsole(page);
    const { cdp, authenticatorId } = await addAuthenticator(page);

    await page.goto(`${base}/signup`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}/`), page.click('#signup-form button[type=submit]')]);
    await signInWithPage(page, base, username, password, '/account');
    await expect.poll(() => page.textContent('#passkeys-status')).toBe('You have no passkeys yet.');

    // A wrong password: said at the field, no passkey made.
    await page.fill('#passkey-name', 'work laptop');
    await page.fill('#passkey-password', 'not the password');
    await page.click('#passkey-form button[type=submit]');
    await expect.poll(() => page.textContent('#passkey-password-error')).toBe('The password is incorrect.');
    expect(await page.getAttribute('#passkey-password', 'aria-invalid')).toBe('true');
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(0);

    await page.fill('#passkey-password', password);
    await page.click('#passkey-form button[type=submit]');
    await expect.poll(() => page.textContent('#passkey-status')).toBe('Passkey "work laptop" added. You can sign in with it now.');
    await expect.poll(() => page.locator('#passkeys-list > li').count()).toBe(1);
    const listed = (await page.locator('#passkeys-list > li').textContent()) ?? '';
    expect(listed).toContain('work laptop');
    expect(listed).toContain('Created');
    expect(listed).toContain('Never used');
    expect(await page.inputValue('#passkey-password')).toBe('');
    // The authenticator holds it as a discoverable credential, for this RP id.
    const held = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
    expect(held).toHaveLength(1);
    expect(held[0]?.isResidentCredential).toBe(true);
    expect(held[0]?.rpId).toBe('localhost');
    await expect.poll(() => page.locator('#activity-list').textContent()).toContain('Passkey added');

    // Sign out, then in with the passkey: no username, no password.
    await page.click('#signout');
    await expect.poll(() => page.textContent('#session-ended')).toContain('You have been signed out.');
    await page.goto(`${base}/signin?next=${encodeURIComponent('/account')}`);
    await expect.poll(() => page.isVisible('#passkey-signin-button')).toBe(true);
    await shots(page, 'signin-passkey');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('#passkey-signin-button')]);
    await expect.poll(() => page.textContent('#username')).toBe(username);
    const me = await page.evaluate(() => fetch('/auth/me', { headers: { accept: 'application/json' } }).then((r) => r.status));
    expect(me).toBe(200);
    await expect.poll(() => page.locator('#passkeys-list > li').textContent()).toContain('Last used');
    await expect.poll(() => page.locator('#activity-list > li').first().textContent()).toContain('With a passkey');
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0]?.signCount).toBeGreaterThan(0);
    await shots(page, 'account-passkeys');

    // The passkey is now this account's second factor: the password alone asks for it, no app code.
    await page.click('#signout');
    await expect.poll(() => page.textContent('#session-ended')).toContain('You have been signed out.');
    await page.goto(`${base}/signin?next=${encodeURIComponent('/account')}`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.isVisible('#mfa-use-passkey')).toBe(true);
    expect(await page.isVisible('#mfa-code')).toBe(false);
    await shots(page, 'signin-mfa-passkey');
    await Promise.all([page.waitForURL(`${base}/account`), page.click('#mfa-use-passkey')]);
    await expect.poll(() => page.textContent('#username')).toBe(username);

    // Rename.
    await page.click('button[aria-label="Rename passkey work laptop"]');
    expect(await page.getAttribute('button[aria-label="Rename passkey work laptop"]', 'aria-expanded')).toBe('true');
    await page.getByLabel('New name for work laptop').fill('old laptop');
    await page.click('#passkeys-list button:has-text("Save name")');
    await expect.poll(() => page.textContent('#passkeys-status')).toBe('Passkey "work laptop" is now called "old laptop".');
    expect(await page.locator('#passkeys-list > li').textContent()).toContain('old laptop');

    // Remove: asks for the password, then the passkey no longer signs in.
    await page.click('button[aria-label="Remove passkey old laptop"]');
    const confirm = page.locator('#passkeys-list form.confirm');
    await confirm.locator('input[type=password]').fill('wrong password');
    await confirm.locator('button[type=submit]').click();
    await expect.poll(() => confirm.locator('.field .error').textContent()).toBe('The password is incorrect.');
    await confirm.locator('input[type=password]').fill(password);
    await confirm.locator('button[type=submit]').click();
    await expect.poll(() => page.textContent('#passkeys-status')).toBe('Passkey "old laptop" was removed: it no longer signs you in.');
    expect(await page.locator('#passkeys-list > li').count()).toBe(0);
    await expect.poll(() => page.locator('#activity-list').textContent()).toContain('Passkey removed');

    // The authenticator still offers it; the server refuses it, and the page says so.
    await page.click('#signout');
    await expect.poll(() => page.textContent('#session-ended')).toContain('You have been signed out.');
    await page.goto(`${base}/signin`);
    await page.click('#passkey-signin-button');
    await expect.poll(() => page.textContent('#passkey-signin-error')).toContain('That passkey did not sign you in.');
    expect(page.url()).toBe(`${base}/signin`);
    expect(await page.isEnabled('#passkey-signin-button')).toBe(true);

    expect(problems).toEqual([]);
    await context.close();
  });

  it('a password-less account adds one without a password field (a recent sign-in) and cannot remove its last way to sign in', async () => {
    const base = suite.gh.url.replace('127.0.0.1', 'localhost');
    const context = await newContext(suite.browser, base);
    const page = await context.newPage();
    const problems = watchConsole(page);
    await addAuthenticator(page);
    await page.goto(`${base}/signup`);
    await page.fill('#username', 'no-password-user');
    await page.fill('#password', 'soon to be no password');
    await Promise.all([page.waitForURL(`${base}/`), page.click('#signup-form button[type=submit]')]);
    // As if it had signed up through a provider and unlinked it: no password, no identity.
    const stores = await openSqliteStores({ file: join(suite.dataDir, 'gatehouse.db'), clock: systemClock });
    try {
      const user = (await stores.users.findByCanonical('no-password-user'))!;
      await stores.users.setPasswordHash(user.id, NO_PASSWORD, Date.now());
    } finally {
      await stores.close();
    }
    await page.goto(`${base}/account`);
    await expect.poll(() => page.textContent('#passkeys-status')).toBe('You have no passkeys yet.');
    expect(await page.isVisible('#passkey-password')).toBe(false);
    await page.fill('#passkey-name', 'phone');
    await page.click('#passkey-form button[type=submit]');
    await expect.poll(() => page.textContent('#passkey-status')).toBe('Passkey "phone" added. You can sign in with it now.');
    await expect.poll(() => page.locator('#passkeys-list > li').count()).toBe(1);

    await page.click('button[aria-label="Remove passkey phone"]');
    const confirm = page.locator('#passkeys-list form.confirm');
    expect(await confirm.locator('input').count()).toBe(0);
    await confirm.locator('button[type=submit]').click();
    await expect.poll(() => confirm.locator('.form-error').textContent()).toContain('last way to sign in');
    expect(await page.locator('#passkeys-list > li').count()).toBe(1);
    // Cancel closes the question and gives the focus back to its button.
    await confirm.locator('button:has-text("Cancel")').click();
    expect(await page.locator('#passkeys-list form').count()).toBe(0);
    expect(await page.evaluate('document.activeElement && document.activeElement.getAttribute("aria-label")')).toBe('Remove passkey phone');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('says at http://127.0.0.1 which address to open (an RP id cannot be an IP address)', async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    const page = await context.newPage();
    await addAuthenticator(page);
    await page.goto(`${suite.gh.url}/signin`);
    await page.click('#passkey-signin-button');
    await expect.poll(() => page.textContent('#passkey-signin-error')).toContain('localhost');
    await context.close();
  });
});
