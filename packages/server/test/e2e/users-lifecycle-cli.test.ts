import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { browser, runCli, signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

/*
 * Issue 18: `gatehouse users disable|enable|delete|signout-all` against a running single node
 * (SQLite, no Redis): the running gateway refuses the user's cookie and API token within
 * revocations.pollIntervalMs (1 s), sign-in answers as a wrong password, enable lets them back
 * (API token again), delete asks for the name (or --yes) and then frees nothing of the name.
 */

const PASSWORD = 'correct horse battery staple';
const dirs: string[] = [];
let gh: StartedGatehouse | undefined;
afterAll(async () => {
  await gh?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Polls `probe` until it is true, at most `ms`. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await probe()) return true;
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
}

async function signinStatus(url: string, username: string): Promise<number> {
  return (await browser(url).fetch('/auth/signin', { method: 'POST', json: { username, password: PASSWORD } })).status;
}

describe('gatehouse users disable / enable / signout-all / delete', () => {
  it('acts on a running node: credentials refused within the poll interval, sign-in refused, enable brings the API token back, delete confirms the name', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    gh = await startGatehouse(dataDir);
    const url = gh.url;
    const web = await signUpAndIn(url, 'cli-dora');
    const made = await web.fetch('/auth/api-tokens', { method: 'POST', headers: { 'x-csrf-token': web.csrf! }, json: { name: 'script', scopes: ['notes:read'] } });
    expect(made.status).toBe(201);
    const token = ((await made.json()) as { token: string }).token;
    const api = () => fetch(`${url}/api/home`, { headers: { authorization: `Bearer ${token}` } });
    expect((await web.fetch('/api/home')).status).toBe(200);
    expect((await api()).status).toBe(200);

    const disable = runCli(['users', 'disable', 'CLI-Dora'], { dataDir });
    expect(disable.code, disable.stderr).toBe(0);
    expect(disable.stdout).toContain('cli-dora is now disabled');
    expect(await within(3000, async () => (await web.fetch('/api/home')).status === 401 && (await api()).status === 401)).toBe(true);
    expect(await signinStatus(url, 'cli-dora')).toBe(401);
    expect(runCli(['users', 'list'], { dataDir }).stdout).toMatch(/\scli-dora\s.*\sdisabled since \d{4}-/);

    const enable = runCli(['users', 'enable', 'cli-dora'], { dataDir });
    expect(enable.code, enable.stderr).toBe(0);
    expect(await within(3000, async () => (await api()).status === 200)).toBe(true);
    const again = await signUpAndIn(url, 'cli-eve');
    expect((await again.fetch('/api/home')).status).toBe(200);
    expect(await signinStatus(url, 'cli-dora')).toBe(200);

    const out = runCli(['users', 'signout-all', 'cli-eve'], { dataDir });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^Ended 1 session of cli-eve/);
    expect(await within(3000, async () => (await again.fetch('/api/home')).status === 401)).toBe(true);

    // Delete: the name must be typed again; a wrong one deletes nothing.
    const wrong = runCli(['users', 'delete', 'cli-dora'], { dataDir, input: 'cli-eve\n' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('nothing was deleted');
    expect(await signinStatus(url, 'cli-dora')).toBe(200);
    const typed = runCli(['users', 'delete', 'cli-dora'], { dataDir, input: 'CLI-DORA\n' });
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.stdout).toContain('Deleted cli-dora');
    expect(typed.stdout).toContain('30 days');
    expect(await within(3000, async () => (await api()).status === 401)).toBe(true);
    expect(await signinStatus(url, 'cli-dora')).toBe(401);
    const taken = await browser(url).fetch('/auth/signup', { method: 'POST', json: { username: 'cli-dora', password: PASSWORD } });
    expect(await taken.json()).toMatchObject({ code: 'username_taken' });
    const yes = runCli(['users', 'delete', 'cli-eve', '--yes'], { dataDir });
    expect(yes.code, yes.stderr).toBe(0);
    expect(runCli(['users', 'list'], { dataDir }).stdout).toContain('No users yet');

    // Unknown names and misplaced options.
    const missing = runCli(['users', 'disable', 'nobody'], { dataDir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('gatehouse users list');
    expect(runCli(['users', 'list', '--yes'], { dataDir }).stderr).toContain('--yes applies to "gatehouse users delete" only');
  }, 60_000);
});
