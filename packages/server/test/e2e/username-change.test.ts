import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// Issue 15 through one real `gatehouse start`: POST /auth/username is a cookie write like the
// other account endpoints, so the gateway refuses it without the CSRF token; with it the name
// changes, the new name signs in and the old one is refused like an unknown user.
let gh: StartedGatehouse;
const dataDir = tempDataDir();
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  gh = await startGatehouse(dataDir);
});
afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signinStatus(username: string): Promise<{ status: number; body: string }> {
  const res = await browser(gh.url).fetch('/auth/signin', { method: 'POST', json: { username, password: PASSWORD } });
  return { status: res.status, body: await res.text() };
}

describe('changing the username through the gateway', () => {
  it('needs the CSRF token with a cookie; with it the new name signs in and the old one is unknown', async () => {
    const web = await signUpAndIn(gh.url, 'e2e-old-name', PASSWORD);
    const noCsrf = await web.fetch('/auth/username', { method: 'POST', json: { username: 'e2e-new-name' } });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { code: string }).code).toBe('csrf');
    expect((await signinStatus('e2e-old-name')).status).toBe(200);

    const ok = await web.fetch('/auth/username', { method: 'POST', headers: { 'x-csrf-token': web.csrf! }, json: { username: 'e2e-new-name' } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ username: 'e2e-new-name' });
    expect((await signinStatus('e2e-new-name')).status).toBe(200);
    const old = await signinStatus('e2e-old-name');
    const unknown = await signinStatus('e2e-nobody-here');
    expect(old.status).toBe(401);
    expect(old.body).toBe(unknown.body);
    // The account's own session goes on working under the new name.
    const me = await web.fetch('/auth/me');
    expect(me.status).toBe(200);
  });
});
