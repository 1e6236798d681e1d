import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/harness.js';
import {
  bearerHeaders,
  cookieHeaders,
  createApiToken,
  describeDelay,
  killLeftovers,
  passwordGrant,
  removeTempDirs,
  scaleOutReady,
  signInRequest,
  signUpAndIn,
  startTwoInstances,
  tempDir,
  timeUntilRefused,
  type TwoInstances,
  waitFor,
  whoami,
} from './cluster.test-helpers.js';

// Issue 18 on PostgreSQL + Redis with two instances (two auth services, each behind its own
// gateway): `gatehouse users disable` (the CLI, another process, on the same PostgreSQL and
// Redis) makes both gateways refuse the user's session cookie, access token and API token within
// the revocation window (polled, bound 1 s) although every cache was warm and trusted for a
// minute; the refresh token and every sign-in are refused; `gatehouse users enable` lets the
// user sign in again and their API token works again on both gateways.

const SUITE = 'account disable scale-out tests';
const ready = await scaleOutReady(SUITE);
const BOUND_MS = 1000;
const PASSWORD = 'correct horse battery staple';

const measured: Record<string, string> = {};
afterAll(async () => {
  await killLeftovers();
  if (Object.keys(measured).length) console.log(`account disable measurements:\n${Object.entries(measured).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  removeTempDirs();
});

describe.skipIf(!ready)('users disable / enable across two instances on PostgreSQL + Redis', () => {
  let cluster: TwoInstances | undefined;
  let cli: (args: string[]) => ReturnType<typeof runCli>;

  beforeAll(async () => {
    cluster = await startTwoInstances({
      dbPrefix: 'gh_dis',
      // Credentials are re-read only once a minute: only the revocation feed can explain a quick refusal.
      setup: () => ({ config: { session: { cacheTtlMs: 60_000 } } }),
    });
    const env = cluster.env;
    cli = (args) => runCli(args, { env: { ...env, GATEHOUSE_DATA_DIR: tempDir() } });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const refreshGrant = (base: string, refreshToken: string) =>
    fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString() });

  it('disable: cookie, access token and API token refused on both gateways within 1 s, refresh and sign-in refused; enable: sign-in and the API token work again', async () => {
    const { A, B } = cluster!;
    const s = await signUpAndIn(A, 'dis-ann');
    const apiToken = await createApiToken(A, s, 'script');
    const tokens = await passwordGrant(B, 'dis-ann', 'tv');
    const credentials: Record<string, Record<string, string>> = {
      cookie: cookieHeaders(s),
      access_token: bearerHeaders(tokens.access_token),
      api_token: bearerHeaders(apiToken),
    };
    // Every gateway has every credential cached (and the hot copy in Redis is fresh).
    for (const base of [A, B]) for (const [kind, headers] of Object.entries(credentials)) expect((await whoami(base, headers)).status, `${kind} at ${base}`).toBe(200);
    const wrong = await signInRequest(A, 'dis-ann', 'not the password at all');
    const wrongAnswer = { status: wrong.status, body: await wrong.json() };

    const disabled = cli(['users', 'disable', 'dis-ann']);
    expect(disabled.code, disabled.stderr).toBe(0);
    for (const [name, base] of [['A', A], ['B', B]] as const) {
      for (const [kind, headers] of Object.entries(credentials)) {
        const d = await timeUntilRefused(`${base}/api/home/whoami`, headers, BOUND_MS);
        measured[`${kind} refused at gateway ${name} after the CLI returned`] = describeDelay(d);
        expect(d.ms, `${kind} at gateway ${name}`).toBeLessThanOrEqual(BOUND_MS);
        expect(d.status).toBe(401);
      }
    }
    for (const base of [A, B]) {
      const refreshed = await refreshGrant(base, tokens.refresh_token);
      expect(refreshed.status).toBe(400);
      expect(await refreshed.json()).toMatchObject({ error: 'invalid_grant' });
      const signin = await signInRequest(base, 'dis-ann');
      expect({ status: signin.status, body: await signin.json() }).toEqual(wrongAnswer);
    }
    // Still refused once every entry has been re-read (nothing cached brings them back).
    for (const base of [A, B]) for (const [kind, headers] of Object.entries(credentials)) expect((await whoami(base, headers)).status, `${kind} at ${base}`).toBe(401);

    const enabled = cli(['users', 'enable', 'dis-ann']);
    expect(enabled.code, enabled.stderr).toBe(0);
    for (const base of [A, B]) {
      const ms = await waitFor(`API token at ${base} after enable`, async () => (await whoami(base, credentials.api_token!)).status === 200, BOUND_MS, 10);
      measured[`API token accepted again at ${base === A ? 'A' : 'B'} after enable`] = `${ms.toFixed(1)} ms`;
    }
    const again = await signInRequest(B, 'dis-ann', PASSWORD);
    expect(again.status).toBe(200);
    // The old session and access token stay dead.
    for (const base of [A, B]) {
      expect((await whoami(base, credentials.cookie!)).status).toBe(401);
      expect((await whoami(base, credentials.access_token!)).status).toBe(401);
    }
  }, 60_000);
});
