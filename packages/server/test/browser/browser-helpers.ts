import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { startGatehouse, tempDataDir, type StartedGatehouse } from '../e2e/harness.js';

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

/** What a browser suite works with: its own `gatehouse start` and one Chromium. */
export interface BrowserSuite {
  readonly gh: StartedGatehouse;
  readonly browser: Browser;
  /** The Gatehouse's data folder (removed after the suite). */
  readonly dataDir: string;
}

/**
 * Starts a Gatehouse (its own data folder) and a Chromium before the describe block's tests and
 * removes both after them. `config`, when given, returns the config file's content (run inside
 * beforeAll, so it may start what the config points at, e.g. an upstream).
 */
export function useGatehouseInChromium(config?: (dataDir: string) => object | Promise<object>): BrowserSuite {
  const dataDir = tempDataDir();
  let gh: StartedGatehouse | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    const env: Record<string, string> = {};
    if (config !== undefined) {
      mkdirSync(dataDir, { recursive: true });
      env.GATEHOUSE_CONFIG = join(dataDir, 'gatehouse.json');
      writeFileSync(env.GATEHOUSE_CONFIG, JSON.stringify(await config(dataDir)));
    }
    gh = await startGatehouse(dataDir, env);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir,
    get gh() {
      if (gh === undefined) throw new Error('the Gatehouse of this suite is not started (use it inside a test or a later beforeAll)');
      return gh;
    },
    get browser() {
      if (browser === undefined) throw new Error('the Chromium of this suite is not started (use it inside a test or a later beforeAll)');
      return browser;
    },
  };
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

/** `shots`, then checks that both files were written and are not empty (the issue asks for screenshots made by the tests). */
export async function savedShots(page: Page, name: string): Promise<void> {
  await shots(page, name);
  for (const file of [`${ARTIFACTS}${name}.png`, `${ARTIFACTS}${name}-mobile.png`]) {
    expect(existsSync(file), file).toBe(true);
    expect(statSync(file).size, file).toBeGreaterThan(0);
  }
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
