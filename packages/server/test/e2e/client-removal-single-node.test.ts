import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

/*
 * `gatehouse clients remove` of a public (TV) client against a running single-node
 * `gatehouse start` without Redis (issue 14 §1): the CLI is another process, so the gateway learns
 * of it by reading the revocation log (revocations.pollIntervalMs). The device session's access
 * token (stateless: deleting its session alone does not stop it) is refused within about one
 * interval, its refresh is invalid_client, and the session is gone from the user's device list.
 */

const dataDir = tempDataDir();
const POLL_MS = 1000;
const env: Record<string, string> = {};
let gh: StartedGatehouse;

beforeAll(async () => {
  const configFile = join(dataDir, 'gatehouse.json');
  // Credentials are re-read once a minute: only the revocation log can explain a quick refusal.
  writeFileSync(configFile, JSON.stringify({ session: { cacheTtlMs: 60_000 }, revocations: { pollIntervalMs: POLL_MS } }));
  env.GATEHOUSE_CONFIG = configFile;
  // No Redis, whatever the environment says.
  env.GATEHOUSE_REDIS_URL = '';
  const add = runCli(['clients', 'add', 'tv', '--name', 'TV', '--type', 'public', '--grants', 'device_code,refresh_token', '--scopes', 'notes:read'], { dataDir, env });
  expect(add.code, add.stderr).toBe(0);
  gh = await startGatehouse(dataDir, env);
});
afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const form = async (path: string, params: Record<string, string>) => {
  const res = await fetch(`${gh.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};

describe('clients remove on a single node without Redis', () => {
  it('the device session\'s access token is refused within revocations.pollIntervalMs, its refresh is invalid_client, and it leaves the device list', async () => {
    const user = await signUpAndIn(gh.url, 'tv-owner');
    const started = (await form('/auth/device/authorize', { client_id: 'tv', device_name: 'Living-room TV' })).body;
    const approve = await user.fetch('/auth/device/approve', { method: 'POST', headers: { 'x-csrf-token': user.csrf! }, json: { user_code: started.user_code } });
    expect(approve.status).toBe(200);
    const tokens = await form('/auth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'tv', device_code: started.device_code! });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const at = tokens.body.access_token!;
    const sid = decodeJwt(at).sid as string;
    const call = () => fetch(`${gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${at}` } });
    expect((await call()).status).toBe(200);
    const devices = async () => ((await (await user.fetch('/auth/sessions')).json()) as Array<{ id: string }>).map((d) => d.id);
    expect(await devices()).toContain(sid);

    const removed = runCli(['clients', 'remove', 'tv'], { dataDir, env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('Ended 1 device session signed in through it');
    expect(removed.stdout).toContain(`within revocations.pollIntervalMs (${POLL_MS} ms)`);
    const t0 = Date.now();
    let res = await call();
    while (res.status === 200 && Date.now() - t0 < POLL_MS + 5_000) {
      await new Promise((r) => setTimeout(r, 25));
      res = await call();
    }
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
    // One interval, plus a loaded box.
    expect(Date.now() - t0).toBeLessThan(POLL_MS + 1_000);
    expect(await devices()).not.toContain(sid);
    const refreshed = await form('/auth/token', { grant_type: 'refresh_token', client_id: 'tv', refresh_token: tokens.body.refresh_token! });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.error).toBe('invalid_client');
    // The user's browser session goes on.
    expect((await user.fetch('/api/home/whoami')).status).toBe(200);
  });
});
