import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, tempDataDir, type StartedGatehouse } from '../e2e/harness.js';
import { haveChromium, launchChromium, shots, watchConsole } from './browser-helpers.js';

// Sign-up with the proof-of-work challenge switched on (`signup.challenge: "pow"`): the page
// gets 400 challenge_required, fetches GET /auth/challenge, solves it in the browser and
// resends. (pages.test.ts covers the retry after invalid_challenge against a stand-in.)
describe.skipIf(!haveChromium)('sign-up with proof-of-work on, in a real browser', () => {
  let gh: StartedGatehouse;
  let browser: Browser;
  const dataDir = tempDataDir();

  beforeAll(async () => {
    mkdirSync(dataDir, { recursive: true });
    const config = join(dataDir, 'gatehouse.config.json');
    writeFileSync(config, JSON.stringify({ signup: { challenge: 'pow', challengeMaxNumber: 50_000 } }));
    gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: config });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await gh?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('solves the challenge and creates the account', async () => {
    // Without a solution the server refuses: the page has to do the work.
    const bare = await fetch(`${gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bot', password: 'bot passphrase 11' }) });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { code: string }).code).toBe('challenge_required');

    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    const challenges: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/auth/challenge') challenges.push(r.status());
    });
    await page.goto(`${gh.url}/signup`);
    await page.fill('#username', 'pow-person');
    await page.fill('#password', 'a human passphrase 42');
    await page.click('#signup-form button[type=submit]');
    await page.waitForURL(`${gh.url}/`, { timeout: 60_000 });
    await expect.poll(() => page.textContent('#username')).toBe('pow-person');
    expect(challenges).toEqual([200]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('solves the challenge, then shows a taken username at the username field', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gh.url}/signup`);
    await page.fill('#username', 'pow-person');
    await page.fill('#password', 'another passphrase 42');
    await page.click('#signup-form button[type=submit]');
    // The name is taken: the check runs first, then the page says so at the username.
    await expect.poll(() => page.textContent('#username-error'), { timeout: 60_000 }).toMatch(/taken|exists|already/i);
    expect(await page.isVisible('#pow')).toBe(false);
    await shots(page, 'signup-taken');
    await context.close();
  }, 90_000);
});
