#!/usr/bin/env node
// Revocation delay across two gateways: one `gatehouse auth` and two `gatehouse gateway`
// processes on a private PostgreSQL database and a private redis-server. Each round: a session
// cached on gateway B is signed out through gateway A; from the moment the 204 arrives, B is
// polled every --poll-ms until it refuses the cookie. p50/p99 with Redis up (pub/sub) and with
// Redis SIGKILLed (gateways poll PostgreSQL; each sign-out after a random 0-600 ms pause, so it
// falls at a random phase of the 500 ms poll cycle). Bounded: 2 x N sign-outs, each waited for at most
// 3 s. Needs `npm run build`, PostgreSQL on 127.0.0.1:5432 and redis-server on PATH.
//   node bench/revocation-delay.mjs [--signouts 30] [--poll-ms 1]
import { parseArgs } from 'node:util';
import { cleanup, freePort, masterKey, PrivateRedis, privateDatabase, quantiles, signIn, signUp, sleep, startRole, writeConfig } from './cluster.mjs';

const { values } = parseArgs({ options: { signouts: { type: 'string', default: '30' }, 'poll-ms': { type: 'string', default: '1' } } });
const N = Math.min(Number(values.signouts), 200);
const POLL_MS = Math.max(0, Number(values['poll-ms']));
const LIMIT_MS = 3000;

/** Time to the refusing answer (upper bound of the delay) and whether the first poll was already refused. */
async function refusedAfter(url, cookie) {
  const t0 = performance.now();
  let polls = 0;
  for (;;) {
    const r = await fetch(url, { headers: { cookie } });
    await r.arrayBuffer();
    polls++;
    const ms = performance.now() - t0;
    if (r.status !== 200) return { ms, first: polls === 1 };
    if (ms > LIMIT_MS) return { ms: Infinity, first: false };
    if (POLL_MS) await sleep(POLL_MS);
  }
}

async function phase(name, A, B, sessions, jitterMs = 0) {
  const delays = [];
  let first = 0;
  for (const s of sessions) {
    // While polling, a sign-out right after a detection waits a whole poll interval: a random
    // pause puts each sign-out at a random phase of the poll cycle.
    if (jitterMs) await sleep(Math.random() * jitterMs);
    const warm = await fetch(`${B}/api/home/whoami`, { headers: { cookie: s.cookie } });
    if (warm.status !== 200) throw new Error(`${name}: session not accepted on B before sign-out (${warm.status})`);
    const out = await fetch(`${A}/auth/signout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    if (out.status !== 204) throw new Error(`${name}: sign-out on A answered ${out.status} ${await out.text()}`);
    const d = await refusedAfter(`${B}/api/home/whoami`, s.cookie);
    delays.push(d.ms);
    if (d.first) first++;
  }
  const q = quantiles(delays);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : `>${LIMIT_MS}`);
  console.log(`${name.padEnd(34)} n=${q.n}  p50 ${f(q.p50)} ms  p90 ${f(q.p90)} ms  p99 ${f(q.p99)} ms  max ${f(q.max)} ms  (refused on the first poll: ${first}/${q.n})`);
  return q;
}

try {
  const db = await privateDatabase();
  if (!db) process.exit(1);
  const redis = new PrivateRedis();
  await redis.start();
  const [authPort, portA] = await Promise.all([freePort(), freePort()]);
  const env = { GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: masterKey(), GATEHOUSE_CONFIG: writeConfig(), GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${portA}` };
  const auth = await startRole('auth', env, authPort);
  const gwEnv = { ...env, GATEHOUSE_AUTH_URL: auth.url };
  const [gwA, gwB] = await Promise.all([startRole('gateway', gwEnv, portA), startRole('gateway', gwEnv)]);
  const A = gwA.url;
  const B = gwB.url;

  // 2N sessions of one user (each sign-in without a device cookie is a new device).
  await signUp(A, 'bench-revoke');
  const sessions = [];
  for (let i = 0; i < 2 * N; i++) sessions.push(await signIn(i % 2 ? A : B, 'bench-revoke'));
  console.log(`revocation delay, sign-out on gateway A -> refused on gateway B, polled every ${POLL_MS} ms (${new Date().toISOString()}, node ${process.version})`);
  const up = await phase('Redis up (pub/sub)', A, B, sessions.slice(0, N));

  await redis.kill('SIGKILL');
  await sleep(2000); // both gateways have noticed (heartbeat) and poll PostgreSQL
  const down = await phase('Redis SIGKILLed (PostgreSQL polling)', A, B, sessions.slice(N), 600);
  console.log('');
  console.log(`goal: < 100 ms with Redis up (p99 ${up.p99.toFixed(1)} ms), < 2000 ms while Redis is away (p99 ${Number.isFinite(down.p99) ? down.p99.toFixed(0) : '>3000'} ms)`);
} finally {
  await cleanup();
}
