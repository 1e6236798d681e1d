import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivatePostgres } from '../../src/stores/postgres/private-postgres.test-helpers.js';
import { requireRedisServerBinary, requireTestService } from '../../src/stores/postgres/test-env.test-helpers.js';
import {
  bearerHeaders,
  cliHasRoles,
  cookieHeaders,
  describeDelay,
  freePort,
  killLeftovers,
  masterKey,
  passwordGrant,
  PrivateRedis,
  redisCommand,
  removeTempDirs,
  signIn,
  signOut,
  signUp,
  signUpAndIn,
  startRole,
  tempDir,
  timeUntilRefused,
  waitFor,
  whoami,
  writeClusterConfig,
  type RoleProcess,
  type Session,
} from './cluster.test-helpers.js';

// Issue 11 items 13 and 17 with real processes: one `gatehouse auth` and two `gatehouse
// gateway` processes of the built CLI on a private PostgreSQL cluster that this file stops and
// starts, and a private redis-server. Revocations taken while PostgreSQL is away take effect on
// both gateways at once, survive the auth service being SIGKILLed, reach PostgreSQL when it is
// back; with Redis away too they answer 503 and revoke nothing; and the gateway that proxied a
// sign-out refuses the cookie on the very next request even while Redis is away.

const SUITE = 'revocations during a PostgreSQL outage';
const postgres = new PrivatePostgres();
const pgOk = await requireTestService('PostgreSQL binaries (initdb, postgres)', 'GATEHOUSE_TEST_PG_BIN or /usr/lib/postgresql', SUITE, async () => {
  if (!postgres.available) throw new Error('initdb/postgres not found, or no postgres user to run them as');
});
const redisOk = await requireRedisServerBinary();
const ready = pgOk && redisOk;
if (ready && !cliHasRoles()) throw new Error('The built CLI has no `gatehouse auth` / `gatehouse gateway` (run `npm run build`).');

const PENDING_KEY = 'gatehouse:revocations:pending';
const measured: Record<string, string> = {};

async function query<T extends Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

async function sidOf(base: string, s: Session): Promise<string> {
  const w = await whoami(base, cookieHeaders(s));
  expect(w.status).toBe(200);
  return w.claims!.sid as string;
}

const post = (base: string, path: string, s: Session) => fetch(`${base}${path}`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
const del = (base: string, path: string, s: Session) => fetch(`${base}${path}`, { method: 'DELETE', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });

describe.skipIf(!ready)(SUITE, () => {
  const redis = new PrivateRedis();
  let auth: RoleProcess;
  let gwA: RoleProcess;
  let gwB: RoleProcess;
  let A: string;
  let B: string;
  let authPort: number;
  let authEnv: Record<string, string>;

  // Credentials revoked during the outage, checked again after it.
  let signedOut: Session;
  let signedOutSid: string;
  let allUser: Session;
  let allAccess: string;
  let remoteKeeper: Session;
  let remoteVictim: Session;
  let remoteVictimSid: string;
  let apiOwner: Session;
  let apiToken: string;
  let apiTokenId: string;

  beforeAll(async () => {
    await Promise.all([postgres.start(), redis.start()]);
    const [pAuth, pA, pB] = await Promise.all([freePort(), freePort(), freePort()]);
    authPort = pAuth;
    authEnv = {
      GATEHOUSE_DATABASE_URL: postgres.url,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: masterKey(),
      GATEHOUSE_CONFIG: writeClusterConfig(tempDir()),
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${pA}`,
    };
    const gwEnv = { ...authEnv, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${authPort}` };
    auth = await startRole('auth', { port: authPort, env: authEnv });
    [gwA, gwB] = await Promise.all([startRole('gateway', { port: pA, env: gwEnv }), startRole('gateway', { port: pB, env: gwEnv })]);
    A = gwA.url;
    B = gwB.url;
  }, 120_000);

  /** Each test starts with everything up (also when an earlier one failed half-way). */
  async function everythingUp(): Promise<void> {
    if (!postgres.running) await postgres.start();
    if (!redis.running) await redis.start();
    if (auth.proc.exitCode !== null || auth.proc.signalCode !== null) auth = await startRole('auth', { port: authPort, env: authEnv });
    const ready = async (g: string) => ((await (await fetch(`${g}/readyz`)).json()) as { status: string }).status === 'ready';
    await waitFor('both gateways ready', async () => (await ready(A)) && (await ready(B)), 15_000);
  }

  afterAll(async () => {
    await Promise.all([auth, gwA, gwB].filter(Boolean).map((p) => p.stop('SIGKILL')));
    await killLeftovers();
    await redis.kill();
    await postgres.remove();
    removeTempDirs();
    if (Object.keys(measured).length) console.log(`revocation-outage measurements:\n${Object.entries(measured).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  });

  it('PostgreSQL stopped: sign-out, sign-out-all, remote sign-out and API-token deletion answer 204 and are refused on both gateways within 100 ms', async () => {
    signedOut = await signUpAndIn(A, 'out-signout');
    await signUp(A, 'out-all');
    allUser = await signIn(A, 'out-all');
    allAccess = (await passwordGrant(A, 'out-all', 'tv')).access_token;
    remoteKeeper = await signUpAndIn(A, 'out-remote');
    remoteVictim = await signIn(B, 'out-remote'); // another device of the same user
    apiOwner = await signUpAndIn(A, 'out-api');
    const created = await fetch(`${A}/auth/api-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: apiOwner.cookie, 'x-csrf-token': apiOwner.csrf },
      body: JSON.stringify({ name: 'script', scopes: ['notes:read'] }),
    });
    expect(created.status).toBe(201);
    ({ token: apiToken, id: apiTokenId } = (await created.json()) as { token: string; id: string });
    signedOutSid = await sidOf(A, signedOut);
    remoteVictimSid = await sidOf(A, remoteVictim);
    // Every credential cached on both gateways (what keeps working while PostgreSQL is away).
    for (const g of [A, B]) {
      for (const s of [signedOut, allUser, remoteKeeper, remoteVictim, apiOwner]) expect((await whoami(g, cookieHeaders(s))).status).toBe(200);
      expect((await whoami(g, bearerHeaders(allAccess))).status).toBe(200);
      expect((await fetch(`${g}/api/notes`, { headers: bearerHeaders(apiToken) })).status).toBe(200);
    }

    await postgres.stop();
    expect((await whoami(B, cookieHeaders(signedOut))).status).toBe(200); // still served from memory

    // Sign-out through A.
    const t0 = performance.now();
    const out = await signOut(A, signedOut);
    measured['sign-out round trip, PostgreSQL stopped (pending in Redis)'] = `${(performance.now() - t0).toFixed(1)} ms`;
    expect(out.status, await out.clone().text()).toBe(204);
    expect(out.headers.getSetCookie().some((c) => /^gatehouse_session=;/.test(c))).toBe(true);
    expect(out.headers.get('x-gatehouse-revoked')).toBeNull();
    expect((await whoami(A, cookieHeaders(signedOut))).status).toBe(401);
    const dOut = await timeUntilRefused(`${B}/api/home/whoami`, cookieHeaders(signedOut), 2000);
    measured['sign-out on A, PostgreSQL stopped -> refused on B'] = describeDelay(dOut);
    expect(dOut.status).toBe(401);
    expect(dOut.ms).toBeLessThan(100);

    // Sign-out-all through B: the cookie and the access token die on both gateways.
    const all = await post(B, '/auth/signout-all', allUser);
    expect(all.status, await all.clone().text()).toBe(204);
    for (const [name, g] of [
      ['A', A],
      ['B', B],
    ] as const) {
      const c = await timeUntilRefused(`${g}/api/home/whoami`, cookieHeaders(allUser), 2000);
      const t = await timeUntilRefused(`${g}/api/home/whoami`, bearerHeaders(allAccess), 2000);
      measured[`sign-out-all on B, PostgreSQL stopped -> cookie / access token refused on ${name}`] = `${describeDelay(c)} / ${describeDelay(t)}`;
      expect([c.status, t.status]).toEqual([401, 401]);
      expect(Math.max(c.ms, t.ms)).toBeLessThan(100);
    }

    // Remote sign-out: one device ends the other through A.
    const remote = await del(A, `/auth/sessions/${remoteVictimSid}`, remoteKeeper);
    expect(remote.status, await remote.clone().text()).toBe(204);
    for (const g of [A, B]) {
      const d = await timeUntilRefused(`${g}/api/home/whoami`, cookieHeaders(remoteVictim), 2000);
      expect(d.status).toBe(401);
      expect(d.ms).toBeLessThan(100);
      expect((await whoami(g, cookieHeaders(remoteKeeper))).status).toBe(200); // the other device stays
    }

    // API-token deletion through B.
    const gone = await del(B, `/auth/api-tokens/${apiTokenId}`, apiOwner);
    expect(gone.status, await gone.clone().text()).toBe(204);
    for (const g of [A, B]) {
      const d = await timeUntilRefused(`${g}/api/notes`, bearerHeaders(apiToken), 2000);
      expect(d.status).toBe(401);
      expect(d.ms).toBeLessThan(100);
    }

    // All four wait in Redis for PostgreSQL.
    expect(Number((await redisCommand(redis.port, 'HLEN', PENDING_KEY)).slice(1))).toBe(4);
  }, 60_000);

  it('the auth service SIGKILLed before PostgreSQL returns: the gateways apply what was pending once it is back; everything stays refused', async () => {
    await auth.stop('SIGKILL');
    // Still refused while both are away.
    expect((await whoami(A, cookieHeaders(signedOut))).status).toBe(401);
    await postgres.start();
    const ms = await waitFor('pending revocations applied', async () => (await redisCommand(redis.port, 'HLEN', PENDING_KEY)) === ':0', 15_000);
    measured['PostgreSQL back -> pending revocations applied (auth service dead)'] = `${Math.round(ms)} ms`;
    const sessions = await query<{ id: string }>('select s.id from sessions s join users u on u.id = s.user_id where u.username like $1', ['out-%']);
    const ids = new Set(sessions.map((r) => r.id));
    expect(ids.has(signedOutSid)).toBe(false);
    expect(ids.has(remoteVictimSid)).toBe(false);
    expect(ids.has(await sidOf(A, remoteKeeper))).toBe(true);
    const allLeft = await query('select s.id from sessions s join users u on u.id = s.user_id where u.username = $1', ['out-all']);
    expect(allLeft).toEqual([]);
    expect(await query('select id from api_tokens where id = $1', [apiTokenId])).toEqual([]);
    const logged = await query<{ event: string }>('select event from revocations');
    expect(logged.some((r) => r.event.includes(signedOutSid))).toBe(true);
    for (const g of [A, B]) {
      expect((await whoami(g, cookieHeaders(signedOut))).status).toBe(401);
      expect((await whoami(g, cookieHeaders(allUser))).status).toBe(401);
      expect((await whoami(g, bearerHeaders(allAccess))).status).toBe(401);
      expect((await whoami(g, cookieHeaders(remoteVictim))).status).toBe(401);
      expect((await fetch(`${g}/api/notes`, { headers: bearerHeaders(apiToken) })).status).toBe(401);
    }
    auth = await startRole('auth', { port: authPort, env: authEnv });
    // A gateway started now (PostgreSQL back, revocations applied) refuses them too.
    const gwC = await startRole('gateway', { env: { ...authEnv, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${authPort}` } });
    try {
      expect((await whoami(gwC.url, cookieHeaders(signedOut))).status).toBe(401);
      expect((await whoami(gwC.url, cookieHeaders(remoteVictim))).status).toBe(401);
      expect((await whoami(gwC.url, cookieHeaders(remoteKeeper))).status).toBe(200);
    } finally {
      await gwC.stop('SIGKILL');
    }
  }, 90_000);

  it('PostgreSQL and Redis both away: sign-out answers 503 saying nothing was recorded, and the session still works', async () => {
    await everythingUp();
    const s = await signUpAndIn(A, 'out-both');
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200);
    await postgres.stop();
    await redis.kill();
    const t0 = performance.now();
    const out = await signOut(A, s);
    const text = await out.text();
    measured['sign-out round trip, PostgreSQL and Redis away (503)'] = `${(performance.now() - t0).toFixed(1)} ms`;
    expect(out.status, text).toBe(503);
    expect(JSON.parse(text)).toMatchObject({ status: 503, code: 'unavailable' });
    expect(JSON.parse(text).detail).toMatch(/could not be recorded.*still active/i);
    expect(out.headers.getSetCookie().some((c) => /^gatehouse_session=;/.test(c))).toBe(false);
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200); // truthful: nothing was revoked
  }, 60_000);

  it('Redis away (PostgreSQL up): the gateway that proxied a sign-out refuses the cookie on the very next request', async () => {
    await everythingUp();
    const s = await signUpAndIn(A, 'out-item17');
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200);
    expect((await whoami(B, cookieHeaders(s))).status).toBe(200); // cached on B too
    await redis.kill();
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200);
    const out = await signOut(A, s);
    expect(out.status, await out.clone().text()).toBe(204);
    expect((await whoami(A, cookieHeaders(s))).status).toBe(401);
    // B learns it by polling PostgreSQL (DESIGN §4: within 2 s while Redis is away).
    const d = await timeUntilRefused(`${B}/api/home/whoami`, cookieHeaders(s), 3000);
    measured['sign-out on A, Redis away -> refused on B (polling)'] = describeDelay(d);
    expect(d.status).toBe(401);
  }, 60_000);
});
