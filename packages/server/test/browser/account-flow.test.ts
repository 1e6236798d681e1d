import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { browser as apiClient } from '../e2e/harness.js';
import { haveChromium, newContext, shots, signInWithPage, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// One user's whole journey through the pages, step by step (the steps share the browser state):
// sign-up -> sign-in -> notes -> devices -> API token -> password -> sign out everywhere.
describe.skipIf(!haveChromium)('account pages in a real browser', () => {
  const suite = useGatehouseInChromium();
  const username = 'journey-user';
  let password = 'first journey passphrase';
  let main: BrowserContext;
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    main = await newContext(suite.browser, suite.gh.url);
    page = await main.newPage();
    problems = watchConsole(page);
  });

  /** The rows of a list on the account page, as text. */
  async function rows(selector: string): Promise<string[]> {
    return page.locator(`${selector} > li`).allTextContents();
  }

  it('signs up, signs out, and signs in again with "remember me"', async () => {
    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), page.click('#signup-form button[type=submit]')]);
    await expect.poll(() => page.textContent('#username')).toBe(username);
    await page.click('#signout');
    await expect.poll(() => page.isVisible('#signed-out')).toBe(true);

    await page.goto(`${suite.gh.url}/signin`);
    expect(await page.isChecked('#remember')).toBe(true);
    await signInWithPage(page, suite.gh.url, username, password);
    const session = (await main.cookies()).find((c) => c.name === 'gatehouse_session');
    expect(session?.expires).toBeGreaterThan(Date.now() / 1000 + 7 * 86400); // persistent: remembered
  });

  it('adds, edits inline and deletes notes', async () => {
    await page.click('nav a[href="/notes"]');
    await page.waitForURL(`${suite.gh.url}/notes`);
    await expect.poll(() => page.textContent('#notes-status')).toMatch(/No notes yet/);
    for (const text of ['buy milk', 'call the bank', 'water the plants']) {
      await page.fill('#note-text', text);
      await page.click('#note-form button[type=submit]');
      await expect.poll(() => page.textContent('#notes-list')).toContain(text);
    }
    await expect.poll(() => page.locator('#notes-list > li').count()).toBe(3);
    await shots(page, 'notes');

    // Edit one inline: the Edit button opens a text box in place; Escape cancels, Save saves.
    await page.click('button[aria-label="Edit note: buy milk"]');
    await page.keyboard.press('Escape');
    expect(await page.locator('#notes-list textarea').count()).toBe(0);
    await page.click('button[aria-label="Edit note: buy milk"]');
    const box = page.locator('#notes-list textarea');
    await box.fill('buy oat milk');
    await shots(page, 'notes-editing');
    await page.click('#notes-list button:has-text("Save")');
    await expect.poll(() => page.textContent('#notes-list')).toContain('buy oat milk');
    expect(await page.textContent('#notes-list')).not.toContain('buy milk');

    // Deleting asks first (issue 12): "Cancel" keeps the note, "OK" deletes it.
    const asked: string[] = [];
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()));
    await page.click('button[aria-label="Delete note: call the bank"]');
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toMatch(/^Delete this note\? This cannot be undone\.[\s\S]*call the bank/);
    expect(await page.locator('#notes-list > li').count()).toBe(3);
    page.once('dialog', (d) => void d.accept());
    await page.click('button[aria-label="Delete note: call the bank"]');
    await expect.poll(() => page.locator('#notes-list > li').count()).toBe(2);
    expect(await page.textContent('#notes-list')).not.toContain('call the bank');

    // What the page shows is what the notes service holds.
    await page.reload();
    await expect.poll(() => page.locator('#notes-list > li').count()).toBe(2);
    const texts = await page.locator('#notes-list .note-text').allTextContents();
    expect(texts.sort()).toEqual(['buy oat milk', 'water the plants']);
  });

  it('lists devices with a marker for this one, signs the other device out, and that device lands signed out', async () => {
    const other = await suite.browser.newContext({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' });
    const phone = await other.newPage();
    await signInWithPage(phone, suite.gh.url, username, password, '/notes');
    await expect.poll(() => phone.locator('#notes-list > li').count()).toBe(2);

    await page.click('nav a[href="/account"]');
    await page.waitForURL(`${suite.gh.url}/account`);
    await expect.poll(() => page.textContent('#username')).toBe(username);
    await expect.poll(() => page.locator('#devices-list > li').count()).toBe(2);
    const devices = await rows('#devices-list');
    expect(devices[0]).toMatch(/Headless Chrome on Linux\s*This device/);
    expect(devices[1]).toContain('Safari on iOS');
    expect(devices[1]).not.toContain('This device');
    expect(devices.join(' ')).toMatch(/Last active/);
    // The current device has no sign-out button of its own; the other one does.
    expect(await page.locator('#devices-list > li').nth(0).locator('button').count()).toBe(0);
    await expect.poll(async () => (await page.textContent('#activity-status')) + (await rows('#activity-list')).join('|')).toMatch(/Signed in|Activity is not available/);
    await shots(page, 'account');

    await page.click('button[aria-label="Sign out Safari on iOS"]');
    await expect.poll(() => page.locator('#devices-list > li').count()).toBe(1);
    expect(await page.textContent('#devices-status')).toBe('Safari on iOS was signed out.');

    // The phone's next request finds its session gone.
    await phone.fill('#note-text', 'written after being signed out');
    await phone.click('#note-form button[type=submit]');
    await expect.poll(() => phone.isVisible('#session-ended')).toBe(true);
    expect(await phone.textContent('#session-ended')).toMatch(/signed out/);
    expect(await phone.isVisible('#notes')).toBe(false);
    await shots(phone, 'notes-session-ended');
    await phone.reload();
    await phone.waitForURL(`${suite.gh.url}/signin?next=%2Fnotes`);
    await other.close();
    await page.reload();
    await expect.poll(() => page.locator('#notes-list > li, #devices-list > li').count()).toBe(1);
  });

  it('creates an API token that is shown once, works as a bearer token, and stops working when deleted', async () => {
    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.textContent('#tokens-status')).toBe('You have no API tokens.');

    // Both checks refuse before asking the server.
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.textContent('#token-name-error')).toMatch(/name/);
    await page.fill('#token-name', 'backup script');
    await page.uncheck('#scope-notes-read');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.textContent('#token-scopes-error')).toBe('Choose at least one scope.');

    await page.check('#scope-notes-read');
    await page.check('#scope-notes-write');
    await page.selectOption('#token-expiry', '604800');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => page.isVisible('#new-token')).toBe(true);
    const token = await page.inputValue('#new-token-value');
    expect(token).toMatch(/^gh_[A-Za-z0-9]{40,}$/);
    expect(await page.getAttribute('#new-token-value', 'readonly')).not.toBeNull();
    expect(await page.textContent('#new-token')).toMatch(/won't be shown again/);
    await page.click('#copy-token');
    await expect.poll(() => page.textContent('#copy-status')).toMatch(/Copied|selected/);
    if ((await page.textContent('#copy-status'))?.startsWith('Copied')) {
      expect(await page.evaluate('navigator.clipboard.readText()')).toBe(token);
    }
    await expect.poll(() => page.locator('#tokens-list > li').count()).toBe(1);
    const listed = (await rows('#tokens-list'))[0]!;
    expect(listed).toContain('backup script');
    expect(listed).toContain('notes:read');
    expect(listed).toContain('notes:write');
    expect(listed).toContain('Never used');
    expect(listed).toMatch(/Expires/);
    await shots(page, 'account-new-token');

    // The token works for a script, as a bearer token, with its scopes.
    const asScript = await fetch(`${suite.gh.url}/api/notes`, { headers: { authorization: `Bearer ${token}` } });
    expect(asScript.status).toBe(200);
    const body = (await asScript.json()) as { notes: Array<{ text: string }> };
    expect(body.notes.map((n) => n.text).sort()).toEqual(['buy oat milk', 'water the plants']);

    // Shown once: after "I've copied it" or a reload, the secret is nowhere on the page.
    await page.click('#new-token-done');
    expect(await page.isVisible('#new-token')).toBe(false);
    await page.reload();
    await expect.poll(() => page.locator('#tokens-list > li').count()).toBe(1);
    expect(await page.content()).not.toContain(token);
    await expect.poll(() => rows('#tokens-list')).toEqual([expect.stringMatching(/Last used/)]);

    await page.click('button[aria-label="Delete token backup script"]');
    await expect.poll(() => page.locator('#tokens-list > li').count()).toBe(0);
    expect(await page.textContent('#tokens-status')).toMatch(/deleted/);
    const afterDelete = await fetch(`${suite.gh.url}/api/notes`, { headers: { authorization: `Bearer ${token}` } });
    expect(afterDelete.status).toBe(401);
  });

  it('changes the password: a wrong current one is refused, then other devices are signed out', async () => {
    const laptop = await suite.browser.newContext();
    const laptopPage = await laptop.newPage();
    await signInWithPage(laptopPage, suite.gh.url, username, password, '/notes');

    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.textContent('#username')).toBe(username);
    await page.fill('#current-password', 'not my password');
    await page.fill('#new-password', 'second journey passphrase');
    await expect.poll(() => page.textContent('#new-password-strength')).toMatch(/^Strength: (Good|Strong)/);
    await page.click('#password-form button[type=submit]');
    await expect.poll(() => page.textContent('#current-password-error')).toBe('Your current password is not right.');
    await shots(page, 'account-password-error');

    await page.fill('#current-password', password);
    await page.click('#password-form button[type=submit]');
    await expect.poll(() => page.textContent('#password-status')).toMatch(/password was changed/);
    // It says exactly what ended: other devices and apps, not the API tokens (issue 12).
    expect(await page.textContent('#password-status')).toMatch(/Every other device and app signed in to your account was signed out.*API tokens still work/);
    expect(await page.inputValue('#new-password')).toBe('');
    const old = password;
    password = 'second journey passphrase';

    // This device stays signed in; the laptop does not.
    await page.reload();
    await expect.poll(() => page.textContent('#username')).toBe(username);
    await laptopPage.reload();
    // The laptop lands on sign-in and is told why (issue 12).
    await laptopPage.waitForURL(`${suite.gh.url}/signin?next=%2Fnotes&reason=signed_out`);
    await expect.poll(() => laptopPage.textContent('#signin-notice')).toMatch(/^You were signed out on this device/);
    expect(await laptopPage.isVisible('#signin-notice')).toBe(true);
    await shots(laptopPage, 'signin-signed-out');
    await laptop.close();

    const withOld = await fetch(`${suite.gh.url}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: old }) });
    expect(withOld.status).toBe(401);
  });

  it('signs out everywhere after a confirmation, ending this and every other session', async () => {
    const script = apiClient(suite.gh.url);
    const signin = await script.fetch('/auth/signin', { method: 'POST', json: { username, password } });
    expect(signin.status).toBe(200);
    expect((await script.fetch('/auth/me')).status).toBe(200);

    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.locator('#devices-list > li').count()).toBe(2);
    await page.click('#signout-all');
    expect(await page.isVisible('#signout-all-confirm')).toBe(true);
    await page.click('#signout-all-no');
    expect(await page.isVisible('#signout-all-confirm')).toBe(false);
    await page.click('#signout-all');
    await shots(page, 'account-signout-all-confirm');
    await page.click('#signout-all-yes');
    await expect.poll(() => page.isVisible('#session-ended')).toBe(true);
    expect(await page.textContent('#session-ended')).toMatch(/every device/);
    await shots(page, 'account-signed-out-everywhere');

    expect((await script.fetch('/auth/me')).status).toBe(401);
    await page.goto(`${suite.gh.url}/account`);
    await page.waitForURL(`${suite.gh.url}/signin?next=%2Faccount`);
    expect(problems).toEqual([]);
  });
});
