import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, tempDataDir, type StartedGatehouse } from '../e2e/harness.js';
import { ALICE, freePort, startOidcProvider, type OidcProviderHandle } from '../federation/oidc-provider.test-helpers.js';
import { haveChromium, launchChromium, newContext, shots, watchConsole } from './browser-helpers.js';

// Issue 15 end to end: the real `gatehouse start` (built dist) with two real OpenID providers
// (oidc-provider on 127.0.0.1) and Chromium clicking through: "Continue with" on the sign-in
// page, the provider's login form, back signed in on the page `next` named; then the account
// page links the second provider (its login form again) and unlinks it. Client secrets come
// from environment variables named by clientSecretEnv, as the docs advise.
describe.skipIf(!haveChromium)('federation in Chromium through gatehouse start', () => {
  const dataDir = tempDataDir();
  let gh: StartedGatehouse;
  let browser: Browser;
  let idpA: OidcProviderHandle;
  let idpB: OidcProviderHandle;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    idpA = await startOidcProvider({ redirectUri: `${base}/auth/federation/acme/callback` });
    idpB = await startOidcProvider({ redirectUri: `${base}/auth/federation/corp/callback` });
    mkdirSync(dataDir, { recursive: true });
    const configFile = join(dataDir, 'gatehouse.json');
    const provider = (id: string, name: string, h: OidcProviderHandle, secretEnv: string) => ({ id, type: 'oidc', name, issuer: h.issuer, clientId: h.clientId, clientSecretEnv: secretEnv, allowSignup: true });
    writeFileSync(
      configFile,
      JSON.stringify({ federation: { providers: [provider('acme', 'Acme ID', idpA, 'ACME_CLIENT_SECRET'), provider('corp', 'Corp SSO', idpB, 'CORP_CLIENT_SECRET')] } }),
    );
    gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: configFile, GATEHOUSE_PORT: String(port), ACME_CLIENT_SECRET: idpA.clientSecret, CORP_CLIENT_SECRET: idpB.clientSecret });
    expect(gh.url).toBe(base);
    browser = await launchChromium();
    page = await (await newContext(browser, gh.url)).newPage();
    problems = watchConsole(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    await idpA?.close();
    await idpB?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** At the provider's login form (the test harness's interaction page): sign in as its test user. */
  async function providerLogin(issuer: string, back: string): Promise<void> {
    await page.waitForURL((u) => u.origin === issuer && u.pathname.startsWith('/interaction/'));
    await Promise.all([page.waitForURL(back), page.click('form button')]);
  }

  it('Continue with <name> on the sign-in page: the provider’s login, then back signed in on next', async () => {
    await page.goto(`${gh.url}/signin?next=${encodeURIComponent('/account')}`);
    const acme = page.getByRole('link', { name: 'Continue with Acme ID' });
    await expect.poll(() => acme.isVisible()).toBe(true);
    expect(await page.getByRole('link', { name: 'Continue with Corp SSO' }).isVisible()).toBe(true);
    expect(await acme.getAttribute('href')).toBe('/auth/federation/acme/start?next=%2Faccount');
    await shots(page, 'signin-federation');
    await acme.click();
    await providerLogin(idpA.issuer, `${gh.url}/account`);
    // Signed in as the provider's user: the account page shows the name made from its preferred_username.
    await expect.poll(() => page.textContent('body')).toContain(ALICE.preferredUsername);
    await expect.poll(() => page.locator('#methods-list > li').count()).toBe(2);
    const rows = await page.locator('#methods-list > li').allTextContents();
    expect(rows[0]).toContain('You have not set a password');
    expect(rows[1]).toContain('Acme ID');
    // No password to give: the Email section does not ask for one (a recent sign-in is the proof).
    await expect.poll(() => page.locator('#email-current').textContent()).toContain('No email address');
    expect(await page.isHidden('#email-password-field')).toBe(true);

    // The sign-up page has the same buttons.
    const other = await (await newContext(browser, gh.url)).newPage();
    await other.goto(`${gh.url}/signup`);
    await expect.poll(() => other.getByRole('link', { name: 'Continue with Corp SSO' }).isVisible()).toBe(true);
    await other.close();
  }, 60_000);

  it('links the second provider from the account page, then unlinks it', async () => {
    const link = page.locator('#methods-link button', { hasText: 'Link Corp SSO' });
    await expect.poll(() => link.isVisible()).toBe(true);
    // Acme is linked already: no button for it.
    expect(await page.locator('#methods-link button', { hasText: 'Link Acme ID' }).count()).toBe(0);
    await link.click();
    await providerLogin(idpB.issuer, `${gh.url}/account`);
    await expect.poll(() => page.locator('#methods-list > li').count()).toBe(3);
    expect((await page.locator('#methods-list > li').allTextContents())[2]).toContain('Corp SSO');
    await expect.poll(() => page.locator('#methods-link button').count()).toBe(0);
    await shots(page, 'account-federation-linked');

    await page.click('button[aria-label="Unlink Corp SSO"]');
    await expect.poll(() => page.textContent('#methods-status')).toContain('Corp SSO was unlinked');
    await expect.poll(() => page.locator('#methods-list > li').count()).toBe(2);
    // It can be linked again.
    await expect.poll(() => page.locator('#methods-link button', { hasText: 'Link Corp SSO' }).isVisible()).toBe(true);
    // The last way to sign in (Acme, no password) stays.
    expect(await page.isEnabled('button[aria-label="Unlink Acme ID"]')).toBe(false);
    expect(problems.filter((p) => !p.includes(idpA.issuer) && !p.includes(idpB.issuer))).toEqual([]);
  }, 60_000);
});
