import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/harness.js';
import {
  bearerHeaders,
  killLeftovers,
  removeTempDirs,
  scaleOutReady,
  signUpAndIn,
  startTwoInstances,
  tempDir,
  type TwoInstances,
  whoami,
} from './cluster.test-helpers.js';

// Issue 14 §2 on PostgreSQL + Redis with two instances (two auth services, each behind its own
// gateway): a device code started on A is approved via B and redeemed on A; of two polls racing
// on A and B exactly one redeems; a slow_down stored on A holds on B.

const SUITE = 'device flow scale-out tests';
const ready = await scaleOutReady(SUITE);

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

describe.skipIf(!ready)('device flow across two instances on PostgreSQL + Redis', () => {
  let cluster: TwoInstances | undefined;
  let A: string;
  let B: string;

  beforeAll(async () => {
    cluster = await startTwoInstances({
      dbPrefix: 'gh_dev',
      setup: () => ({ config: { device: { pollIntervalSec: 2 } } }),
      afterFirstAuth: (env) => {
        const add = runCli(['clients', 'add', 'tv', '--name', 'TV', '--type', 'public', '--grants', 'device_code,refresh_token', '--scopes', 'notes:read'], { env: { ...env, GATEHOUSE_DATA_DIR: tempDir() } });
        expect(add.code, add.stderr).toBe(0);
      },
    });
    ({ A, B } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const form = async (base: string, path: string, params: Record<string, string>) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const startOn = async (base: string) => (await form(base, '/auth/device/authorize', { client_id: 'tv' })).body as { device_code: string; user_code: string };
  const poll = (base: string, code: string) => form(base, '/auth/token', { grant_type: GRANT, client_id: 'tv', device_code: code });

  it('started on A, approved via B, redeemed on A exactly once (racing a poll on B); a slow_down stored on A holds on B', async () => {
    const user = await signUpAndIn(B, 'device-owner');
    const approveOnB = (userCode: string) =>
      fetch(`${B}/auth/device/approve`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: user.cookie, 'x-csrf-token': user.csrf }, body: JSON.stringify({ user_code: userCode }) });

    const tv = await startOn(A);
    expect((await poll(A, tv.device_code)).body.error).toBe('authorization_pending');
    // Too soon on A: slow_down, stored; B has never seen this code poll, yet slows it down too.
    expect((await poll(A, tv.device_code)).body.error).toBe('slow_down');
    expect((await poll(B, tv.device_code)).body.error).toBe('slow_down');

    expect((await approveOnB(tv.user_code)).status).toBe(200);
    const [onA, onB] = await Promise.all([poll(A, tv.device_code), poll(B, tv.device_code)]);
    const winners = [onA, onB].filter((r) => r.status === 200);
    expect(winners, JSON.stringify([onA, onB])).toHaveLength(1);
    expect([onA, onB].find((r) => r.status !== 200)!.body.error).toBe('invalid_grant');
    expect((await poll(A, tv.device_code)).body.error).toBe('invalid_grant');

    const at = winners[0]!.body.access_token!;
    for (const base of [A, B]) {
      const w = await whoami(base, bearerHeaders(at));
      expect(w.status).toBe(200);
      expect(w.claims).toMatchObject({ username: 'device-owner', did: decodeJwt(at).did, sid: decodeJwt(at).sid });
    }
    // The refresh token rotates on either instance for its client.
    const refreshed = await form(B, '/auth/token', { grant_type: 'refresh_token', client_id: 'tv', refresh_token: winners[0]!.body.refresh_token! });
    expect(refreshed.status).toBe(200);
  }, 60_000);
});
