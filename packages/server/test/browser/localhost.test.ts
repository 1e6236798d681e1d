import { describe, expect, it } from 'vitest';
import { haveChromium, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 12: `localhost` is not `127.0.0.1`. With no public URL, `start` prints
// http://127.0.0.1:<port>; a person who types http://localhost:<port> got the sign-up page, and
// the form answered "This request was blocked as a security precaution. Reload the page".
describe.skipIf(!haveChromium)('the pages at http://localhost:<port> (no public URL)', () => {
  const suite = useGatehouseInChromium();

  it('signs up there and lands signed in', async () => {
    const base = suite.gh.url.replace('127.0.0.1', 'localhost');
    const context = await suite.browser.newContext();
    const page = await context.newPage();
    const problems = watchConsole(page);
    await page.goto(`${base}/signup`);
    await page.fill('#username', 'local-user');
    await page.fill('#password', 'a local passphrase to try');
    await Promise.all([page.waitForURL(`${base}/`), page.click('#signup-form button[type=submit]')]);
    await expect.poll(() => page.textContent('#username')).toBe('local-user');
    expect((await context.cookies()).find((c) => c.name === 'gatehouse_session')?.domain).toBe('localhost');
    expect(problems).toEqual([]);
    await context.close();
  });
});
