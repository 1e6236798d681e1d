import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 15, "changeable later": the account page's Username form shows the current name,
// refuses a taken one in place (accessible: the field is marked invalid and described by the
// message), and changes it; the page and the activity show the new name.
describe.skipIf(!haveChromium)('the Username section of /account', () => {
  const suite = useGatehouseInChromium();
  const PASSWORD = 'username journey passphrase';
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    const context = await newContext(suite.browser, suite.gh.url);
    page = await context.newPage();
    problems = watchConsole(page);
  });

  async function signup(username: string): Promise<void> {
    const res = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username, password: PASSWORD }) });
    expect(res.status).toBe(201);
  }

  it('shows the current name, refuses a taken one in place, changes it', async () => {
    await signup('held-name');
    await signup('form-user');
    await signInWithPage(page, suite.gh.url, 'form-user', PASSWORD, '/account');
    await expect.poll(() => page.inputValue('#new-username')).toBe('form-user');

    await page.fill('#new-username', 'HELD-name');
    await page.click('#username-form button[type=submit]');
    await expect.poll(() => page.textContent('#new-username-error')).toMatch(/taken/i);
    expect(await page.getAttribute('#new-username', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#new-username', 'aria-describedby')).toContain('new-username-error');
    expect(await page.textContent('#username')).toBe('form-user');

    await page.fill('#new-username', 'Renamed-In-Browser');
    await page.click('#username-form button[type=submit]');
    await expect.poll(() => page.textContent('#username-status')).toContain('Your username is now Renamed-In-Browser');
    expect(await page.textContent('#username')).toBe('Renamed-In-Browser');
    expect(await page.textContent('#new-username-error')).toBe('');
    await expect.poll(() => page.textContent('#activity-list')).toMatch(/Username changed\s*From form-user to Renamed-In-Browser/);
    await shots(page, 'account-username');

    const signin = await fetch(`${suite.gh.url}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username: 'renamed-in-browser', password: PASSWORD }) });
    expect(signin.status).toBe(200);
    expect(problems).toEqual([]);
  });
});
