import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, tempDataDir, type StartedGatehouse } from '../e2e/harness.js';

// Debian's chromium driven by playwright-core (no downloaded browser). On CI it must exist;
// on a developer machine without it this file says so and skips.
const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`Browser tests need Chromium at ${CHROMIUM} on CI (apt-get install -y chromium).`);
if (!haveChromium) console.warn(`[browser tests skipped] no Chromium at ${CHROMIUM}; install Debian's chromium package or set GATEHOUSE_CHROMIUM.`);

const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/screenshots/', import.meta.url));

describe.skipIf(!haveChromium)('web pages in a real browser', () => {
  let gh: StartedGatehouse;
  let browser: Browser;
  const dataDir = tempDataDir();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gh = await startGatehouse(dataDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  }

  it('signs up, lands signed in, writes a note, and signs out', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
    });
    await page.goto(`${gh.url}/signup`);
    await shot(page, 'signup');
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${gh.url}/`), page.click('#signup-form button[type=submit]')]);
    await expect.poll(() => page.textContent('#username')).toBe('browser-user');
    await page.fill('#note-text', 'written in a real browser');
    await page.click('#note-form button[type=submit]');
    await expect.poll(() => page.textContent('#notes-list')).toContain('written in a real browser');
    await shot(page, 'home-signed-in');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'gatehouse_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    await page.click('#signout');
    await expect.poll(async () => page.isVisible('#signed-out')).toBe(true);
    expect((await context.cookies()).find((c) => c.name === 'gatehouse_session')).toBeUndefined();
    expect(cspErrors).toEqual([]);
    await context.close();
  });

  it('sends a page request without a session to sign-in and back to where it was going', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gh.url}/api/home/whoami`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/api/home/whoami');
    await shot(page, 'signin');
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'wrong password here');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(async () => (await page.textContent('#form-error')) ?? (await page.textContent('#password-error'))).toBeTruthy();
    await shot(page, 'signin-error');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${gh.url}/api/home/whoami`), page.click('#signin-form button[type=submit]')]);
    const claims = JSON.parse((await page.textContent('body')) ?? '{}') as Record<string, unknown>;
    expect(claims).toMatchObject({ username: 'browser-user', aud: 'home', auth: 'session' });
    await context.close();
  });

  it('never follows an off-site next after sign-in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gh.url}/signin?next=${encodeURIComponent('//evil.example/x')}`);
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${gh.url}/`), page.click('#signin-form button[type=submit]')]);
    expect(new URL(page.url()).origin).toBe(gh.url);
    await context.close();
  });
});
