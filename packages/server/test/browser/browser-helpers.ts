import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

// Debian's chromium driven by playwright-core (no downloaded browser). On CI it must exist;
// on a developer machine without it the browser test files say so and skip.
export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`Browser tests need Chromium at ${CHROMIUM} on CI (apt-get install -y chromium).`);
if (!haveChromium) console.warn(`[browser tests skipped] no Chromium at ${CHROMIUM}; install Debian's chromium package or set GATEHOUSE_CHROMIUM.`);

export const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/screenshots/', import.meta.url));

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const MOBILE = { width: 375, height: 740 };

/** A full-page screenshot of `page` at desktop (1280) and mobile (375) widths: `<name>.png`, `<name>-mobile.png`. */
export async function shots(page: Page, name: string): Promise<void> {
  const before = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
  await page.setViewportSize(MOBILE);
  await page.screenshot({ path: `${ARTIFACTS}${name}-mobile.png`, fullPage: true });
  // Nothing may stick out sideways at phone width.
  const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
  expect(overflow, `${name} scrolls sideways at ${MOBILE.width}px`).toBeLessThanOrEqual(0);
  await page.setViewportSize(before);
}

/** Collects Content-Security-Policy violations and uncaught page errors of a page. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return problems;
}

/** Signs in through the sign-in page and waits for the page it lands on. */
export async function signInWithPage(page: Page, base: string, username: string, password: string, next = '/'): Promise<void> {
  await page.goto(`${base}/signin${next === '/' ? '' : `?next=${encodeURIComponent(next)}`}`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}${next}`), page.click('#signin-form button[type=submit]')]);
}

/** A fresh context with the test's clipboard permissions. */
export async function newContext(browser: Browser, base: string): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: DESKTOP });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  return context;
}
