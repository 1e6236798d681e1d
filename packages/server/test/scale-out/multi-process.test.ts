import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgres, requireRedisServerBinary, TEST_DATABASE_URL } from '../../src/stores/postgres/test-env.test-helpers.js';
import {
  bearerHeaders,
  cliHasRoles,
  cookieHeaders,
  createApiToken,
  createPrivateDatabase,
  describeDelay,
  freePort,
  killLeftovers,
  masterKey,
  PASSWORD,
  passwordGrant,
  PrivateRedis,
  redisCommand,
  removeTempDirs,
  signIn,
  signInRequest,
  signOut,
  signUp,
  signUpAndIn,
  sleep,
  startRole,
  tempDir,
  timeUntilRefused,
  trafficLoop,
  waitFor,
  whoami,
  writeClusterConfig,
  type PrivateDatabase,
  type RoleProcess,
} from './cluster.test-helpers.js';

// DESIGN §4 with real processes: one `gatehouse auth` and two `gatehouse gateway` processes of
// the built CLI on a private PostgreSQL database and a private redis-server started here. No
// mocks; every wait is bounded. Delays are measured from the moment the answer that caused the
// revocation arrived, polling the other gateway every few ms.

const SUITE = 'multi-process scale-out tests';
const pgOk = await requirePostgres(TEST_DATABASE_URL, SUITE);
const redisOk = await requireRedisServerBinary();
const ready = pgOk && redisOk;
if (ready && !cliHasRoles()) {
  // Not a missing server: the CLI under test lacks the roles. Fail, never skip.
  throw new Error('The built CLI has no `gatehouse auth` / `gatehouse gateway` (run `npm run build`); the multi-process tests need them.');
}

/** Delays measured by this file, printed at the end (the numbers SCALING.md quotes). */
const measured: Record<string, string> = {};
const note = (k: string, v: string) => {
  measured[k] = v;
};

afterAll(async () => {
  await killLeftovers();
  if (Object.keys(measured).length) console.log(`multi-process measurements:\n${Object.entries(measured).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
  removeTempDirs();
});

interface Problem {
  status: number;
  code: string;
}

async function expectProblem(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(JSON.parse(text) as Problem).toMatchObject({ status, code });
}

describe.skipIf(!ready)('scale-out: concurrent start on an empty database', () => {
  let db: PrivateDatabase;
  const redis = new PrivateRedis();
  const procs: RoleProcess[] = [];

  beforeAll(async () => {
    [db] = await Promise.all([createPrivateDatabase(), redis.start()]);
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await redis.kill();
    await db?.drop();
  });

  it('two gateways and one auth started together all come up: one set of tables, one signing key in JWKS', async () => {
    const [authPort, portA, portB] = await Promise.all([freePort(), freePort(), freePort()]);
    const env = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: masterKey(),
      GATEHOUSE_CONFIG: writeClusterConfig(tempDir()),
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${portA}`,
    };
    const gwEnv = { ...env, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${authPort}` };
    const started = performance.now();
    const all = await Promise.allSettled([
      startRole('gateway', { port: portA, env: gwEnv }),
      startRole('gateway', { port: portB, env: gwEnv }),
      startRole('auth', { port: authPort, env }),
    ]);
    for (const r of all) if (r.status === 'fulfilled') procs.push(r.value);
    for (const r of all) if (r.status === 'rejected') throw r.reason;
    note('concurrent start of 3 processes on an empty database', `${Math.round(performance.now() - started)} ms`);

    // One set of tables, each migration applied once.
    const tables = await db.query<{ table_schema: string; table_name: string }>(
      `select table_schema, table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1, 2`,
    );
    const names = tables.map((t) => t.table_name);
    expect(new Set(names).size).toBe(names.length);
    for (const t of ['users', 'sessions', 'signing_keys', 'revocations', 'refresh_tokens', 'api_tokens', 'audit_events']) expect(names).toContain(t);
    const migrations = await db.query<{ name: string }>('select name from kysely_migration');
    expect(migrations.length).toBeGreaterThan(0);
    expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
    expect(await db.query('select kid from signing_keys')).toHaveLength(1);

    // Every gateway publishes that one key.
    const kids = new Set<string>();
    for (const p of procs.filter((x) => x.role === 'gateway')) {
      const jwks = (await (await fetch(`${p.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
      expect(jwks.keys).toHaveLength(1);
      kids.add(jwks.keys[0]!.kid);
    }
    expect(kids.size).toBe(1);

    // And the cluster works: sign up through one gateway, use the cookie on the other.
    const s = await signUpAndIn(`http://127.0.0.1:${portA}`, 'mp-fresh');
    expect((await whoami(`http://127.0.0.1:${portB}`, cookieHeaders(s))).status).toBe(200);

    for (const p of procs) expect(await p.stop('SIGTERM'), `${p.role} exit code`).toBe(0);
  }, 60_000);
});

describe.skipIf(!ready)('scale-out: one auth service and two gateways as separate processes', () => {
  let db: PrivateDatabase;
  const redis = new PrivateRedis();
  let auth: RoleProcess;
  /** A second auth service on the same stores, reached directly: proves counters are shared, not per process. */
  let auth2: RoleProcess;
  let gwA: RoleProcess;
  let gwB: RoleProcess;
  let A: string;
  let B: string;
  let authPort: number;
  let authEnv: Record<string, string>;

  beforeAll(async () => {
    [db] = await Promise.all([createPrivateDatabase(), redis.start()]);
    const [pAuth, pA, pB] = await Promise.all([freePort(), freePort(), freePort()]);
    authPort = pAuth;
    authEnv = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: masterKey(),
      GATEHOUSE_CONFIG: writeClusterConfig(tempDir()),
      // One public URL for the whole cluster (behind a load balancer): one issuer and audience.
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${pA}`,
    };
    const gwEnv = { ...authEnv, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${authPort}` };
    // The auth service first (it migrates and creates the key), then the rest together.
    auth = await startRole('auth', { port: authPort, env: authEnv });
    [gwA, gwB, auth2] = await Promise.all([startRole('gateway', { port: pA, env: gwEnv }), startRole('gateway', { port: pB, env: gwEnv }), startRole('auth', { env: authEnv })]);
    A = gwA.url;
    B = gwB.url;
  }, 90_000);

  afterAll(async () => {
    await Promise.all([auth, auth2, gwA, gwB].filter(Boolean).map((p) => p.stop('SIGTERM')));
    await redis.kill();
    await db?.drop();
  });

  it('prints the contract start lines and reports PostgreSQL and Redis', () => {
    expect(auth.stdout().split('\n')[0]).toMatch(/^Gatehouse auth service is up at http:\/\/127\.0\.0\.1:\d+$/);
    const out = gwA.stdout();
    expect(out.split('\n')[0]).toMatch(/^Gatehouse \S+ is up at http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toMatch(/data:/);
    expect(out).toMatch(/stores:.*PostgreSQL/);
    expect(out).toMatch(/stores:.*Redis/);
    expect(out).toMatch(/internal:/);
    expect(`${out}${gwA.stderr()}`).not.toContain(db.url);
  });

  it('a cookie from sign-in through gateway A works on gateway B; B mints its own passport', async () => {
    const s = await signUpAndIn(A, 'mp-cookie');
    const a = await whoami(A, cookieHeaders(s));
    const b = await whoami(B, cookieHeaders(s));
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.claims).toMatchObject({ username: 'mp-cookie', auth: 'session', aud: 'home', sid: a.claims!.sid, sub: a.claims!.sub });
    // A passport of its own: minted by B, not forwarded from A.
    expect(b.claims!.jti).not.toBe(a.claims!.jti);
    const meB = await fetch(`${B}/auth/me`, { headers: cookieHeaders(s) });
    expect(meB.status).toBe(200);
    expect(await meB.json()).toMatchObject({ username: 'mp-cookie' });
  });

  it('sign-out on A is refused on B within 100 ms (Redis up)', async () => {
    const s = await signUpAndIn(A, 'mp-signout');
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200);
    expect((await whoami(B, cookieHeaders(s))).status).toBe(200); // B has it cached now
    const out = await signOut(A, s);
    expect(out.status).toBe(204);
    const d = await timeUntilRefused(`${B}/api/home/whoami`, cookieHeaders(s), 2000);
    note('cookie sign-out on A -> refused on B (Redis up)', describeDelay(d));
    expect(d.status).toBe(401);
    expect(d.ms).toBeLessThan(100);
    expect((await whoami(A, cookieHeaders(s))).status).toBe(401);
  });

  it('failed sign-ins are counted across instances: 5 failures over A and B -> the 6th is 429 everywhere', async () => {
    const user = 'mp-lockout';
    await signUp(A, user);
    for (let i = 0; i < 5; i++) {
      const res = await signInRequest(i % 2 === 0 ? A : B, user, `wrong password ${i}`);
      expect(res.status, `failure ${i + 1}`).toBe(401);
    }
    // The right password too: the account is locked, on both gateways and on another auth instance.
    await expectProblem(await signInRequest(A, user), 429, 'rate_limited');
    await expectProblem(await signInRequest(B, user), 429, 'rate_limited');
    await expectProblem(await signInRequest(auth2.url, user), 429, 'rate_limited');
    // Another account is not affected.
    await signUp(B, 'mp-lockout-other');
    expect((await signInRequest(A, 'mp-lockout-other')).status).toBe(200);
  });

  it('bearer: a token from the password grant through A works on B; sign-out-all on B refuses it on A within 100 ms', async () => {
    await signUp(A, 'mp-bearer');
    // The account scope lets this access token call sign-out-all (DESIGN §6).
    const t = await passwordGrant(A, 'mp-bearer', 'tv', undefined, 'account notes:read');
    const onB = await whoami(B, bearerHeaders(t.access_token));
    expect(onB.status).toBe(200);
    expect(onB.claims).toMatchObject({ username: 'mp-bearer', auth: 'access_token', did: 'tv' });
    expect((await whoami(A, bearerHeaders(t.access_token))).status).toBe(200); // verified and cached on A
    const all = await fetch(`${B}/auth/signout-all`, { method: 'POST', headers: bearerHeaders(t.access_token) });
    expect(all.status).toBe(204);
    const d = await timeUntilRefused(`${A}/api/home/whoami`, bearerHeaders(t.access_token), 2000);
    note('bearer sign-out-all on B -> access token refused on A (Redis up)', describeDelay(d));
    expect(d.status).toBe(401);
    expect(d.ms).toBeLessThan(100);
  });

  it('Redis SIGKILLed mid-traffic, restarted empty, then FLUSHALL: every request answers 200, sign-outs still spread', async () => {
    const loopUser = await signUpAndIn(A, 'mp-loop');
    const at = (await passwordGrant(B, 'mp-loop', 'loop-device')).access_token;
    const apiToken = await createApiToken(A, loopUser, 'loop');
    const victims = await Promise.all(['mp-victim-1', 'mp-victim-2'].map(async (u) => signUpAndIn(B, u)));
    for (const v of victims) for (const g of [A, B]) expect((await whoami(g, cookieHeaders(v))).status).toBe(200);

    const targets = [A, B].flatMap((g, i) => [
      { name: `cookie@${'AB'[i]}`, url: `${g}/api/home/whoami`, headers: cookieHeaders(loopUser) },
      { name: `access_token@${'AB'[i]}`, url: `${g}/api/home/whoami`, headers: bearerHeaders(at) },
      { name: `api_token@${'AB'[i]}`, url: `${g}/api/notes`, headers: bearerHeaders(apiToken) },
    ]);
    const loop = trafficLoop(targets, { concurrency: 3, maxMs: 25_000 });
    try {
      await sleep(300);
      await redis.kill('SIGKILL');
      const killedAt = loop.elapsedMs();

      // A sign-out during the outage: accepted, and spread to B by polling PostgreSQL.
      await sleep(200);
      const out = await signOut(A, victims[0]!);
      expect(out.status).toBe(204);
      const during = await timeUntilRefused(`${B}/api/home/whoami`, cookieHeaders(victims[0]!), 4000, 5);
      note('cookie sign-out on A -> refused on B (Redis SIGKILLed)', describeDelay(during));
      expect(during.status).toBe(401);
      expect(during.ms).toBeLessThan(2000);
      // Sign-up and sign-in work without Redis; a session neither gateway has seen is read from PostgreSQL.
      const fresh = await signUpAndIn(A, 'mp-during-outage');
      expect((await whoami(B, cookieHeaders(fresh))).status).toBe(200);

      await sleep(300);
      await redis.start(); // same port, empty
      const restartedAt = loop.elapsedMs();
      await sleep(1200);
      expect(await redisCommand(redis.port, 'FLUSHALL')).toBe('+OK');
      await sleep(800);

      // After the restart and the flush: nobody was signed out, and a sign-out still spreads.
      const out2 = await signOut(B, victims[1]!);
      expect(out2.status).toBe(204);
      const after = await timeUntilRefused(`${A}/api/home/whoami`, cookieHeaders(victims[1]!), 4000, 2);
      note('cookie sign-out on B -> refused on A (Redis restarted empty + FLUSHALL)', describeDelay(after));
      expect(after.status).toBe(401);
      expect(after.ms).toBeLessThan(2000);
      expect((await whoami(A, cookieHeaders(fresh))).status).toBe(200);
      await sleep(300);
      const r = await loop.stop();
      note(
        'traffic loop through the Redis outage',
        `${r.total} requests over ${Math.round(loop.elapsedMs())} ms (Redis killed at ${Math.round(killedAt)} ms, back at ${Math.round(restartedAt)} ms), non-200: ${r.failures.length}`,
      );
      expect(r.failures, JSON.stringify(r.failures.slice(0, 5))).toEqual([]);
      for (const t of targets) expect(r.byTarget[t.name] ?? 0, t.name).toBeGreaterThan(5);
      // Redis is in use again: /readyz reports every store ready.
      await waitFor('gateway /readyz 200 after Redis is back', async () => (await fetch(`${A}/readyz`)).status === 200, 5000);
    } finally {
      await loop.stop();
      if (!redis.running) await redis.start();
    }
  }, 40_000);

  it('auth service stopped: signed-in cookie and bearer traffic goes on; sign-in says 503 unavailable; back after a restart', async () => {
    await signUp(A, 'mp-authdown');
    const s = await signIn(A, 'mp-authdown');
    const t = await passwordGrant(A, 'mp-authdown', 'phone');
    // Used on A only: B meets both credentials for the first time while the auth service is down.
    expect((await whoami(A, cookieHeaders(s))).status).toBe(200);

    expect(await auth.stop('SIGTERM'), 'auth exit code after SIGTERM').toBe(0);
    for (const g of [A, B]) {
      for (let i = 0; i < 3; i++) {
        expect((await whoami(g, cookieHeaders(s))).status, `cookie on ${g}`).toBe(200);
        expect((await whoami(g, bearerHeaders(t.access_token))).status, `bearer on ${g}`).toBe(200);
      }
      await expectProblem(await signInRequest(g, 'mp-authdown'), 503, 'unavailable');
      await expectProblem(
        await fetch(`${g}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mp-authdown-2', password: 'another long passphrase' }) }),
        503,
        'unavailable',
      );
      const grant = await fetch(`${g}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: 'mp-authdown', password: PASSWORD, device_id: 'tablet' }).toString(),
      });
      expect(grant.status).toBe(503);
    }

    auth = await startRole('auth', { port: authPort, env: authEnv });
    const took = await waitFor('sign-in through A after the auth restart', async () => (await signInRequest(A, 'mp-authdown')).status === 200, 10_000, 100);
    note('auth restart -> first successful sign-in through A', `${Math.round(took)} ms after the start line`);
    expect((await signInRequest(B, 'mp-authdown')).status).toBe(200);
  }, 40_000);
});
