import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/harness.js';
import { haveChromium, newContext, shots, watchConsole, useGatehouseInChromium } from './browser-helpers.js';

// Issue 14 §2, done when: a "TV" (this test's code) starts the device flow and polls while
// Chromium signs in on /device, enters the code and approves, all through the real
// `gatehouse start`; the TV's token reaches a demo service with did = the TV's device; the user
// signs the TV out on the account page; the TV's next request and refresh fail.
describe.skipIf(!haveChromium)('device sign-in (RFC 8628) with a real browser', () => {
  // A one-second interval keeps the walk short; the grant's timing is tested in-process.
  const suite = useGatehouseInChromium(() => ({ device: { pollIntervalSec: 1 } }));
  const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
  const username = 'tv-owner';
  const password = 'device owner passphrase';

  beforeAll(async () => {
    // The CLI works on the running Gatehouse's data folder.
    const add = runCli(['clients', 'add', 'living-room-tv', '--name', 'Living-room TV app', '--type', 'public', '--grants', 'device_code,refresh_token', '--scopes', 'notes:read'], { dataDir: suite.dataDir });
    expect(add.code, add.stderr).toBe(0);
    const up = await fetch(`${suite.gh.url}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    expect(up.status).toBe(201);
  });

  const form = (path: string, params: Record<string, string>): Promise<Response> =>
    fetch(`${suite.gh.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });

  async function startTv(): Promise<{ device_code: string; user_code: string; verification_uri_complete: string; interval: number }> {
    const res = await form('/auth/device/authorize', { client_id: 'living-room-tv', device_name: 'Living-room TV' });
    expect(res.status).toBe(200);
    return (await res.json()) as { device_code: string; user_code: string; verification_uri_complete: string; interval: number };
  }

  /** The TV's polling loop: every `interval` seconds until an answer that is not pending. */
  async function pollUntilDecided(deviceCode: string, interval: number): Promise<{ status: number; body: Record<string, unknown>; pendingPolls: number }> {
    let pendingPolls = 0;
    for (;;) {
      const res = await form('/auth/token', { grant_type: DEVICE_GRANT, client_id: 'living-room-tv', device_code: deviceCode });
      const body = (await res.json()) as Record<string, unknown>;
      if (body.error === 'slow_down') interval += 5;
      else if (body.error !== 'authorization_pending') return { status: res.status, body, pendingPolls };
      else pendingPolls++;
      await new Promise((r) => setTimeout(r, interval * 1000 + 50));
    }
  }

  it('the TV polls while the user signs in on /device, checks the code and approves; the token reaches a service with the TV\'s did; signing the TV out on the account page ends it', async () => {
    const tv = await startTv();
    expect(tv.verification_uri_complete).toBe(`${suite.gh.url}/device?user_code=${tv.user_code}`);
    const polling = pollUntilDecided(tv.device_code, tv.interval);

    const context = await newContext(suite.browser, suite.gh.url);
    const page = await context.newPage();
    const problems = watchConsole(page);
    // The QR code's link, signed out: through sign-in and back with the code kept.
    await page.goto(tv.verification_uri_complete);
    await page.waitForURL(/\/signin\?next=/);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('#signin-form button[type=submit]');
    await page.waitForURL(`${suite.gh.url}/device?user_code=${tv.user_code}`);
    await expect.poll(() => page.isVisible('#confirm')).toBe(true);
    expect(await page.textContent('#client-name')).toBe('Living-room TV app');
    expect(await page.textContent('#device-name')).toBe('Living-room TV');
    expect(await page.textContent('#confirm-code')).toBe(tv.user_code);
    expect(await page.textContent('#scopes')).toBe('notes:read');
    await shots(page, 'device-confirm');
    await page.click('#approve');
    await expect.poll(() => page.isVisible('#done')).toBe(true);
    expect(await page.textContent('#done')).toMatch(/signed in/);

    const { status, body, pendingPolls } = await polling;
    expect(status, JSON.stringify(body)).toBe(200);
    expect(pendingPolls).toBeGreaterThan(0);
    const accessToken = body.access_token as string;
    const refreshToken = body.refresh_token as string;
    const claims = decodeJwt(accessToken);

    // The TV calls a service: its passport carries the TV's own device and session.
    const whoami = await fetch(`${suite.gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(whoami.status).toBe(200);
    const passport = (await whoami.json()) as Record<string, unknown>;
    expect(passport).toMatchObject({ did: claims.did, sid: claims.sid, auth: 'access_token', username });

    // The user finds the TV in the device list and signs it out.
    await page.goto(`${suite.gh.url}/account`);
    await expect.poll(() => page.textContent('#devices-list')).toContain('Living-room TV');
    await page.click('button[aria-label="Sign out Living-room TV"]');
    await expect.poll(() => page.textContent('#devices-list')).not.toContain('Living-room TV');
    expect(problems).toEqual([]);
    await context.close();

    // The TV's next request and its refresh fail.
    await expect
      .poll(async () => (await fetch(`${suite.gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${accessToken}` } })).status)
      .toBe(401);
    const refreshed = await form('/auth/token', { grant_type: 'refresh_token', client_id: 'living-room-tv', refresh_token: refreshToken });
    expect(refreshed.status).toBe(400);
    expect(((await refreshed.json()) as { error: string }).error).toBe('invalid_grant');
  }, 30_000);

  it('the approve endpoint is CSRF-protected: a signed-in browser\'s cookie alone, or a foreign Origin, approves nothing', async () => {
    const tv = await startTv();
    const signin = await fetch(`${suite.gh.url}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: suite.gh.url }, body: JSON.stringify({ username, password }) });
    const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const csrf = ((await signin.json()) as { csrf_token: string }).csrf_token;
    const approve = (headers: Record<string, string>) =>
      fetch(`${suite.gh.url}/auth/device/approve`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, ...headers }, body: JSON.stringify({ user_code: tv.user_code }) });

    const refused: Array<Record<string, string>> = [{}, { origin: 'https://evil.example', 'x-csrf-token': csrf }, { 'x-csrf-token': 'wrong' }, { 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrf }];
    for (const headers of refused) {
      const res = await approve(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('csrf');
    }
    const poll = await form('/auth/token', { grant_type: DEVICE_GRANT, client_id: 'living-room-tv', device_code: tv.device_code });
    expect(((await poll.json()) as { error: string }).error).toBe('authorization_pending');
    // The same request with the token from the page's own origin does approve it.
    expect((await approve({ origin: suite.gh.url, 'x-csrf-token': csrf })).status).toBe(200);
  });
});
