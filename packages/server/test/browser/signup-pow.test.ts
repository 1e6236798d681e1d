import { describe, expect, it } from 'vitest';
import { haveChromium, shots, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Sign-up with the proof-of-work challenge switched on (`signup.challenge: "pow"`): the page
// gets 400 challenge_required, fetches GET /auth/challenge, solves it in the browser and
// resends. (pages.test.ts covers the retry after invalid_challenge against a stand-in.)
describe.skipIf(!haveChromium)('sign-up with proof-of-work on, in a real browser', () => {
  const suite = useGatehouseInChromium(() => ({ signup: { challenge: 'pow', challengeMaxNumber: 50_000 } }));

  it('solves the challenge and creates the account', async () => {
    // Without a solution the server refuses: the page has to do the work.
    const bare = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bot', password: 'bot passphrase 11' }) });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { code: string }).code).toBe('challenge_required');

    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    const challenges: number[] = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname === '/auth/challenge') challenges.push(r.status());
    });
    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', 'pow-person');
    await page.fill('#password', 'a human passphrase 42');
    await page.click('#signup-form button[type=submit]');
    await page.waitForURL(`${suite.gh.url}/`, { timeout: 60_000 });
    await expect.poll(() => page.textContent('#username')).toBe('pow-person');
    expect(challenges).toEqual([200]);
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('solves the challenge, then shows a taken username at the username field', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.gh.url}/signup`);
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
