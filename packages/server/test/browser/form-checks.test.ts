import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { haveChromium, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// The pages check their forms before sending (forms.js `checkFields`): each failed field gets
// its message and aria-invalid, the first one gets the focus, and nothing is sent.
describe.skipIf(!haveChromium)('the pages check their forms before sending', () => {
  const suite = useGatehouseInChromium();

  /** The paths of the requests that change something, from now on. */
  function writes(page: Page): string[] {
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET') sent.push(new URL(r.url()).pathname);
    });
    return sent;
  }

  const focused = async (page: Page) => (await page.evaluate("document.activeElement ? document.activeElement.id : ''")) as string;
  const invalid = (page: Page, id: string) => page.getAttribute(`#${id}`, 'aria-invalid');

  it('sign-in: says which field is missing and focuses the first', async () => {
    const page = await suite.browser.newPage();
    const problems = watchConsole(page);
    await page.goto(`${suite.gh.url}/signin`);
    const sent = writes(page);
    await page.click('#signin-form button[type=submit]');
    expect(await page.textContent('#username-error')).toBe('Enter your username.');
    expect(await page.textContent('#password-error')).toBe('Enter your password.');
    expect(await invalid(page, 'username')).toBe('true');
    expect(await invalid(page, 'password')).toBe('true');
    expect(await focused(page)).toBe('username');

    await page.fill('#username', 'somebody');
    await page.click('#signin-form button[type=submit]');
    expect(await page.textContent('#username-error')).toBe('');
    expect(await invalid(page, 'username')).toBeNull();
    expect(await page.textContent('#password-error')).toBe('Enter your password.');
    expect(await focused(page)).toBe('password');
    expect(sent).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('sign-up: a missing username and a missing or short password', async () => {
    const page = await suite.browser.newPage();
    const problems = watchConsole(page);
    await page.goto(`${suite.gh.url}/signup`);
    const sent = writes(page);
    await page.click('#signup-form button[type=submit]');
    expect(await page.textContent('#username-error')).toBe('Choose a username.');
    expect(await page.textContent('#password-error')).toBe('Choose a password of at least 8 characters.');
    expect(await focused(page)).toBe('username');

    await page.fill('#username', 'somebody');
    await page.fill('#password', 'short');
    await page.click('#signup-form button[type=submit]');
    expect(await page.textContent('#username-error')).toBe('');
    expect(await page.textContent('#password-error')).toBe('Your password needs at least 8 characters.');
    expect(await invalid(page, 'password')).toBe('true');
    expect(await focused(page)).toBe('password');
    expect(sent).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('account: the password form wants the current password and a new, different one of 8 or more', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', 'form-checker');
    await page.fill('#password', 'a form checking passphrase');
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), page.click('#signup-form button[type=submit]')]);
    await page.goto(`${suite.gh.url}/account`);
    await page.waitForSelector('#account:not([hidden])');
    const sent = writes(page);

    await page.click('#password-form button[type=submit]');
    expect(await page.textContent('#current-password-error')).toBe('Enter your current password.');
    expect(await page.textContent('#new-password-error')).toBe('Your new password needs at least 8 characters.');
    expect(await focused(page)).toBe('current-password');

    await page.fill('#current-password', 'a form checking passphrase');
    await page.fill('#new-password', 'a form checking passphrase');
    await page.click('#password-form button[type=submit]');
    expect(await page.textContent('#current-password-error')).toBe('');
    expect(await invalid(page, 'current-password')).toBeNull();
    expect(await page.textContent('#new-password-error')).toBe('Choose a password different from the current one.');
    expect(await focused(page)).toBe('new-password');
    expect(sent).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});
