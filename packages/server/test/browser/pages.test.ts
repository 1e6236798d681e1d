import { createHash, randomBytes } from 'node:crypto';
import type { Route } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, haveChromium, shots, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

describe.skipIf(!haveChromium)('web pages in a real browser', () => {
  const suite = useGatehouseInChromium();

  it('signs up, lands signed in, writes a note, and signs out', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(`${suite.gh.url}/signup`);
    await shots(page, 'signup');
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), page.click('#signup-form button[type=submit]')]);
    await expect.poll(() => page.textContent('#username')).toBe('browser-user');
    await page.click('a.tile[href="/notes"]');
    await page.waitForURL(`${suite.gh.url}/notes`);
    await page.fill('#note-text', 'written in a real browser');
    await page.click('#note-form button[type=submit]');
    await expect.poll(() => page.textContent('#notes-list')).toContain('written in a real browser');
    await page.goto(`${suite.gh.url}/`);
    await expect.poll(() => page.textContent('#notes-summary')).toBe('You have 1 note.');
    await shots(page, 'home-signed-in');
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'gatehouse_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    await page.click('#signout');
    await expect.poll(async () => page.isVisible('#signed-out')).toBe(true);
    expect((await context.cookies()).find((c) => c.name === 'gatehouse_session')).toBeUndefined();
    await shots(page, 'home-signed-out');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('sends a page request without a session to sign-in and back to where it was going', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.gh.url}/api/home/whoami`);
    expect(new URL(page.url()).pathname).toBe('/signin');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/api/home/whoami');
    await shots(page, 'signin');
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'wrong password here');
    await page.click('#signin-form button[type=submit]');
    await expect.poll(async () => (await page.textContent('#form-error')) ?? (await page.textContent('#password-error'))).toBeTruthy();
    await shots(page, 'signin-error');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${suite.gh.url}/api/home/whoami`), page.click('#signin-form button[type=submit]')]);
    const claims = JSON.parse((await page.textContent('body')) ?? '{}') as Record<string, unknown>;
    expect(claims).toMatchObject({ username: 'browser-user', aud: 'home', auth: 'session' });
    await context.close();
  });

  it('never follows an off-site next after sign-in', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.gh.url}/signin?next=${encodeURIComponent('//evil.example/x')}`);
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${suite.gh.url}/`), page.click('#signin-form button[type=submit]')]);
    expect(new URL(page.url()).origin).toBe(suite.gh.url);
    await context.close();
  });

  it('sends a signed-out visitor of /notes and /account to sign-in, and back after', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    for (const path of ['/notes', '/account']) {
      await page.goto(`${suite.gh.url}${path}`);
      await page.waitForURL(`${suite.gh.url}/signin?next=${encodeURIComponent(path)}`);
    }
    await page.fill('#username', 'browser-user');
    await page.fill('#password', 'a browser passphrase 7');
    await Promise.all([page.waitForURL(`${suite.gh.url}/account`), page.click('#signin-form button[type=submit]')]);
    await expect.poll(() => page.textContent('#username')).toBe('browser-user');
    await context.close();
  });

  it('gives password strength feedback on sign-up and warns about common passwords early', async () => {
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', 'strength-user');
    await page.fill('#password', 'short');
    await expect.poll(() => page.textContent('#password-strength')).toMatch(/Too short.*at least 8 characters/);
    await page.fill('#password', 'qwertyui');
    await expect.poll(() => page.textContent('#password-strength')).toMatch(/most common passwords/);
    expect(await page.getAttribute('#password-meter', 'data-level')).toBe('1');
    await shots(page, 'signup-common-password');
    // The server has the last word: its list refuses what the page only warned about.
    await page.click('#signup-form button[type=submit]');
    await expect.poll(() => page.textContent('#password-error')).toMatch(/common/i);
    await page.fill('#password', 'strength-user-2024');
    await expect.poll(() => page.textContent('#password-strength')).toMatch(/username/);
    await page.fill('#password', 'correct horse battery staple');
    await expect.poll(() => page.textContent('#password-strength')).toMatch(/^Strength: Strong/);
    expect(await page.getAttribute('#password-meter', 'data-level')).toBe('4');
    await shots(page, 'signup-strong-password');
    await context.close();
  });

  it('solves a proof-of-work challenge with visible progress when sign-up asks for one, and retries once when refused', async () => {
    // The page's side of the flow, against a stand-in for the challenge endpoints (the real
    // ones answer the same shapes): 400 challenge_required, GET /auth/challenge, resend with
    // the solution, a refused solution gets one more try with a new challenge.
    function makeChallenge(number: number, maxnumber: number) {
      const salt = `${randomBytes(12).toString('hex')}?expires=${Math.floor(Date.now() / 1000) + 600}`;
      const challenge = createHash('sha256').update(salt + number).digest('hex');
      return { algorithm: 'SHA-256', challenge, maxnumber, salt, signature: randomBytes(32).toString('hex') };
    }
    const issued = [makeChallenge(170_000, 200_000), makeChallenge(4242, 50_000)];
    let handedOut = 0;
    const solutions: Array<Record<string, unknown>> = [];
    const problem = (code: string, detail: string) => ({
      status: 400,
      contentType: 'application/problem+json',
      body: JSON.stringify({ type: `urn:gatehouse:error:${code}`, title: detail, status: 400, detail, code }),
    });

    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.route(`${suite.gh.url}/auth/challenge`, (route: Route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(issued[handedOut++]) }),
    );
    await page.route(`${suite.gh.url}/auth/signup`, async (route: Route) => {
      const body = route.request().postDataJSON() as { username: string; password: string; challenge?: string };
      if (body.challenge === undefined) return route.fulfill(problem('challenge_required', 'Solve the challenge from GET /auth/challenge first.'));
      const solution = JSON.parse(Buffer.from(body.challenge, 'base64').toString('utf8')) as Record<string, unknown>;
      solutions.push(solution);
      if (solutions.length === 1) return route.fulfill(problem('invalid_challenge', 'The challenge has expired.'));
      return route.continue({ postData: JSON.stringify({ username: body.username, password: body.password }) });
    });

    await page.goto(`${suite.gh.url}/signup`);
    await page.fill('#username', 'pow-user');
    await page.fill('#password', 'proof of work passphrase');
    await page.click('#signup-form button[type=submit]');
    await page.waitForFunction("/Checking you're not a bot… \\d+%/.test(document.getElementById('pow-status').textContent)");
    await page.screenshot({ path: `${ARTIFACTS}signup-pow.png`, fullPage: true });
    await page.waitForURL(`${suite.gh.url}/`, { timeout: 60_000 });
    await expect.poll(() => page.textContent('#username')).toBe('pow-user');

    expect(handedOut).toBe(2);
    expect(solutions).toHaveLength(2);
    for (const [i, s] of solutions.entries()) {
      const c = issued[i]!;
      expect(s).toEqual({ algorithm: 'SHA-256', challenge: c.challenge, number: i === 0 ? 170_000 : 4242, salt: c.salt, signature: c.signature });
    }
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);
});
