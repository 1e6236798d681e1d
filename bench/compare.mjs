#!/usr/bin/env node
// Authenticated requests through six targets in front of the same tiny upstream, measured in
// ONE interleaved run on 127.0.0.1 (the order rotates every round, so machine noise hits every
// target alike):
//   1. bare proxy hop: node:http + undici Pool, no authentication (the floor; bench/servers.mjs),
//      sent the same cookie header as (3), which it forwards untouched
//   2. the usual Node stack: express + express-session/connect-redis + a jsonwebtoken JWT minted
//      per request + http-proxy-middleware (bench/usual-stack.mjs), session cookie; the JWT
//      secret a string as jsonwebtoken's README shows it, and (2b) a KeyObject (faster)
//   3. Gatehouse embedded (`gatehouse start`, SQLite), session cookie
//   4. Gatehouse on PostgreSQL + Redis (`gatehouse start` with GATEHOUSE_DATABASE_URL/REDIS_URL),
//      session cookie — skipped when PostgreSQL or redis-server is not there
//   5. Gatehouse embedded, bearer access token (JWT)
//   6. Gatehouse embedded, bearer API token (gh_…)
// Reports req/s, p50/p99 latency, CPU µs per request of the target process (utime+stime from
// /proc/<pid>/stat before/after each run, divided by the requests it answered) and of the
// Redis server where there is one, and ratios to (1) and (2); ends with a markdown table.
// Redis servers are private (a free port, no persistence; the usual stack's keys carry a
// private prefix and are deleted at the end), the database is a private gh_bench_<random>
// dropped at the end, every child process is stopped, even on failure.
// Then PAIRS paired slices of bare and cookie back to back (ABBA) for a drift-free ratio.
// Bounded: (1 warm-up + ROUNDS) x targets x DURATION s + PAIRS x 2 x PAIR_DURATION s (at most
// 11 x 8 x 30 + 50 x 2 x 10 s); defaults take about 4 min. Needs `npm run build`.
//   node bench/compare.mjs [--duration 5] [--rounds 3] [--connections 32] [--no-scaleout] [--only bare,usual,cookie] [--baseline-cli ../before/packages/server/dist/cli/main.js] [--pairs 10] [--pair-duration 2] [--pin]
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { cleanup, masterKey, median, PrivateRedis, privateDatabase, signIn, signUp, startChild, startRole, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
    'no-scaleout': { type: 'boolean', default: false },
    only: { type: 'string' },
    'baseline-cli': { type: 'string' },
    pairs: { type: 'string', default: '10' },
    pin: { type: 'boolean', default: false },
    'pair-duration': { type: 'string', default: '2' },
  },
});
const DURATION = Math.max(1, Math.min(Number(values.duration), 30));
const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 10));
const CONNECTIONS = Math.max(1, Math.min(Number(values.connections), 256));
const WARMUP = Math.min(DURATION, 3);
const PAIRS = Math.max(0, Math.min(Number(values.pairs), 50));
const PAIR_DURATION = Math.max(1, Math.min(Number(values['pair-duration']), 10));

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // Linux default.
}

/** utime + stime of a process, in µs (Linux /proc). */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); f[0] is field 3.
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
}

function cannon(url, headers, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

// Never outlive the budget, whatever hangs.
const budgetMs = ((ROUNDS + 1) * 8 * DURATION + PAIRS * 2 * PAIR_DURATION + 180) * 1000;
const watchdog = setTimeout(() => {
  console.error(`compare.mjs: over its ${Math.round(budgetMs / 1000)} s budget; stopping`);
  void finish().then(() => process.exit(1));
}, budgetMs);
watchdog.unref();
process.on('unhandledRejection', (err) => {
  console.error(err);
  void finish().then(() => process.exit(1));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void finish().then(() => process.exit(130)));

let usualKeys = null;
let finished = false;
async function finish() {
  if (finished) return;
  finished = true;
  if (usualKeys) {
    try {
      await usualKeys();
    } catch (err) {
      console.error(`compare.mjs: could not delete the usual stack's Redis keys: ${err.message}`);
    }
  }
  await cleanup();
}

const json = { 'content-type': 'application/json' };

try {
  const upstreamChild = await startChild(['bench/servers.mjs', 'upstream']);
  const upstream = upstreamChild.url;
  const bare = await startChild(['bench/servers.mjs', 'bare-proxy', upstream]);
  const routes = { demo: false, routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required' }] };

  // (2) the usual stack, on a private redis-server, keys under a private prefix.
  const usualRedis = new PrivateRedis();
  await usualRedis.start();
  const prefix = `gh_bench_${randomBytes(4).toString('hex')}:`;
  usualKeys = async () => {
    const c = createClient({ url: usualRedis.url });
    c.on('error', () => undefined);
    await c.connect();
    let n = 0;
    for await (const keys of c.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length) n += await c.del(keys);
    }
    await c.quit();
    console.log(`deleted ${n} usual-stack session key(s) (${prefix}*)`);
  };
  const usualLogin = async (child) => {
    const login = await fetch(`${child.url}/login`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'bench-user' }) });
    if (login.status !== 200) throw new Error(`usual stack login: ${login.status} ${await login.text()}`);
    return login.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  };
  const usual = await startChild(['bench/usual-stack.mjs', upstream, usualRedis.url, prefix, 'string']);
  const usualCookie = await usualLogin(usual);
  const tuned = await startChild(['bench/usual-stack.mjs', upstream, usualRedis.url, prefix, 'keyobject']);
  const tunedCookie = await usualLogin(tuned);

  // (3), (5), (6): gatehouse start, embedded.
  const embedded = await startRole('start', { GATEHOUSE_CONFIG: writeConfig(routes) });
  await signUp(embedded.url, 'bench-user');
  const sEmbedded = await signIn(embedded.url, 'bench-user');
  const made = await fetch(`${embedded.url}/auth/api-tokens`, { method: 'POST', headers: { ...json, cookie: sEmbedded.cookie, 'x-csrf-token': sEmbedded.csrf }, body: JSON.stringify({ name: 'bench' }) });
  if (made.status !== 201) throw new Error(`API token creation failed: ${made.status} ${await made.text()}`);
  const { token: apiToken } = await made.json();
  /** A fresh access token (10 min) for each round, so no run outlives its token. */
  const accessToken = async () => {
    const body = new URLSearchParams({ grant_type: 'password', username: 'bench-user', password: 'benchmark passphrase 1', device_id: 'bench-at' }).toString();
    const r = await fetch(`${embedded.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    if (r.status !== 200) throw new Error(`token grant failed: ${r.status} ${await r.text()}`);
    return (await r.json()).access_token;
  };

  // --baseline-cli <other build's packages/server/dist/cli/main.js>: the same cookie target on
  // another build (before/after an optimisation, in the same interleaved run).
  let before = null;
  if (values['baseline-cli']) {
    const child = await startChild([values['baseline-cli'], 'start', '--port', '0'], { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: writeConfig(routes) }, /is up at (http:\/\/\S+)/);
    await signUp(child.url, 'bench-user');
    before = { url: child.url, pid: child.proc.pid, cookie: (await signIn(child.url, 'bench-user')).cookie };
  }

  // (4): gatehouse start on PostgreSQL + Redis (private database and redis-server).
  let scale = null;
  let scaleRedis = null;
  if (!values['no-scaleout']) {
    try {
      const db = await privateDatabase();
      if (db) {
        scaleRedis = new PrivateRedis();
        await scaleRedis.start();
        const gw = await startRole('start', { GATEHOUSE_CONFIG: writeConfig(routes), GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: scaleRedis.url, GATEHOUSE_MASTER_KEY: masterKey() });
        if (!/postgres/i.test(gw.stdout())) console.log(`note: the scale-out start line does not name PostgreSQL:\n${gw.stdout()}`);
        await signUp(gw.url, 'bench-user');
        scale = { url: gw.url, pid: gw.proc.pid, cookie: (await signIn(gw.url, 'bench-user')).cookie };
      }
    } catch (err) {
      console.log(`scale-out target skipped: ${err.message}`);
      scale = null;
    }
  }

  const labels = {
    bare: '(1) bare proxy hop (node:http + undici, no auth)',
    usual: '(2) usual stack: express-session + connect-redis + jsonwebtoken + http-proxy-middleware, cookie',
    tuned: '(2b) usual stack, JWT secret as a KeyObject',
    before: '(3′) Gatehouse embedded, session cookie, --baseline-cli build',
    cookie: '(3) Gatehouse embedded, session cookie',
    scaleout: '(4) Gatehouse on PostgreSQL + Redis, session cookie',
    access_token: '(5) Gatehouse embedded, bearer access token',
    api_token: '(6) Gatehouse embedded, bearer API token',
  };
  const targets = async () => {
    const at = await accessToken();
    const list = [
      // The same request the cookie targets get (a browser's four Gatehouse cookies); the bare
      // hop, authenticating nothing, passes the header on as it is.
      { name: 'bare', url: `${bare.url}/api/bench`, headers: { cookie: sEmbedded.cookie }, pid: bare.proc.pid },
      { name: 'usual', url: `${usual.url}/api/bench`, headers: { cookie: usualCookie }, pid: usual.proc.pid, redisPid: usualRedis.proc.pid },
      { name: 'tuned', url: `${tuned.url}/api/bench`, headers: { cookie: tunedCookie }, pid: tuned.proc.pid, redisPid: usualRedis.proc.pid },
      { name: 'cookie', url: `${embedded.url}/api/bench`, headers: { cookie: sEmbedded.cookie }, pid: embedded.proc.pid },
      { name: 'access_token', url: `${embedded.url}/api/bench`, headers: { authorization: `Bearer ${at}` }, pid: embedded.proc.pid },
      { name: 'api_token', url: `${embedded.url}/api/bench`, headers: { authorization: `Bearer ${apiToken}` }, pid: embedded.proc.pid },
    ];
    if (scale) list.splice(4, 0, { name: 'scaleout', url: `${scale.url}/api/bench`, headers: { cookie: scale.cookie }, pid: scale.pid, redisPid: scaleRedis.proc.pid });
    if (before) list.splice(3, 0, { name: 'before', url: `${before.url}/api/bench`, headers: { cookie: before.cookie }, pid: before.pid });
    // --only bare,cookie[,before]: a quick A/B of a few targets (a ratio to a target left out prints —).
    return values.only ? list.filter((t) => values.only.split(',').includes(t.name)) : list;
  };

  const first = await targets();
  // --pin (Linux, taskset): every target process on the last CPU, everything else (this load
  // generator, the upstream, Redis and PostgreSQL clients) on the others: the target alone on its
  // core, as on a dedicated gateway box, so its own CPU per request sets its req/s.
  if (values.pin) {
    const last = cpus().length - 1;
    const rest = last > 0 ? `0-${last - 1}` : '0';
    const pin = (cpu, pid) => execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' });
    for (const pid of new Set(first.map((t) => t.pid))) pin(String(last), pid);
    for (const pid of [process.pid, upstreamChild.proc.pid, usualRedis.proc.pid, scaleRedis?.proc.pid].filter(Boolean)) pin(rest, pid);
    console.log(`pinned: targets on CPU ${last}, load generator, upstream and Redis on CPU ${rest}`);
  }
  for (const t of first) {
    const check = await fetch(t.url, { headers: t.headers });
    const body = await check.text();
    if (check.status !== 200) throw new Error(`${t.name}: authenticated request failed: ${check.status} ${body}`);
    await cannon(t.url, t.headers, WARMUP); // JIT, keep-alive pools, caches
  }

  const machine = `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`;
  console.log(`${CONNECTIONS} connections, ${ROUNDS} rounds x ${first.length} targets x ${DURATION} s, interleaved; ${machine}; ${new Date().toISOString()}`);
  const stats = {};
  for (let i = 0; i < ROUNDS; i++) {
    const list = await targets();
    const k = i % list.length;
    for (const t of [...list.slice(k), ...list.slice(0, k)]) {
      const cpu0 = cpuMicros(t.pid);
      const redis0 = t.redisPid ? cpuMicros(t.redisPid) : 0;
      const r = await cannon(t.url, t.headers, DURATION);
      const cpu = cpuMicros(t.pid) - cpu0;
      const redis = t.redisPid ? cpuMicros(t.redisPid) - redis0 : 0;
      if (r.non2xx || r.errors) throw new Error(`${t.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      const s = (stats[t.name] ??= { rps: [], p50: [], p99: [], cpu: 0, redis: 0, requests: 0 });
      s.rps.push(r.requests.average);
      s.p50.push(r.latency.p50);
      s.p99.push(r.latency.p99);
      s.cpu += cpu;
      s.redis += redis;
      s.requests += r.requests.total;
      const extra = t.redisPid ? ` + redis ${(redis / r.requests.total).toFixed(1)}` : '';
      console.log(`round ${i + 1} ${t.name.padEnd(12)} ${String(Math.round(r.requests.average)).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  cpu ${(cpu / r.requests.total).toFixed(1)}${extra} µs/req`);
    }
  }

  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  const row = (name) => {
    const s = stats[name];
    return { rps: mean(s.rps), p50: median(s.p50), p99: median(s.p99), cpu: s.cpu / s.requests, redis: s.redis / s.requests };
  };
  const nan = { rps: NaN, p50: NaN, p99: NaN, cpu: NaN, redis: NaN };
  /** A ratio, or — when a target it needs was left out (--only). */
  const ratio = (x, y, digits = 2) => (Number.isFinite(x / y) ? (x / y).toFixed(digits) : '—');
  const b = stats.bare ? row('bare') : nan;
  const u = stats.usual ? row('usual') : nan;
  console.log('');
  console.log(`| target | req/s | p50 ms | p99 ms | CPU µs/req (target process) | + Redis µs/req | req/s ÷ (1) | req/s ÷ (2) | CPU ÷ (1) | CPU ÷ (2) |`);
  console.log(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
  for (const name of Object.keys(labels)) {
    if (!stats[name]) continue;
    const r = row(name);
    const redis = name === 'usual' || name === 'tuned' || name === 'scaleout' ? r.redis.toFixed(1) : '—';
    console.log(`| ${labels[name]} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.cpu.toFixed(1)} | ${redis} | ${ratio(r.rps, b.rps)} | ${ratio(r.rps, u.rps)} | ${ratio(r.cpu, b.cpu)} | ${ratio(r.cpu, u.cpu)} |`);
  }
  console.log('');
  // Paired slices: bare and cookie back to back (ABBA order), PAIRS times. A shared box drifts
  // by tens of percent over a minute (other jobs, the hypervisor); a ratio taken within each
  // pair, seconds apart, cancels that drift, and the median over pairs is the figure to quote.
  let paired = null;
  const bareT = first.find((t) => t.name === 'bare');
  const cookieT = first.find((t) => t.name === 'cookie');
  if (PAIRS > 0 && bareT && cookieT) {
    const rps = [];
    const cpu = [];
    for (let i = 0; i < PAIRS; i++) {
      const out = {};
      for (const t of i % 2 ? [cookieT, bareT] : [bareT, cookieT]) {
        const c0 = cpuMicros(t.pid);
        const r = await cannon(t.url, t.headers, PAIR_DURATION);
        if (r.non2xx || r.errors) throw new Error(`${t.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        out[t.name] = { rps: r.requests.average, cpu: (cpuMicros(t.pid) - c0) / r.requests.total };
      }
      rps.push(out.cookie.rps / out.bare.rps);
      cpu.push(out.cookie.cpu - out.bare.cpu);
      console.log(`pair ${i + 1} bare ${Math.round(out.bare.rps)} req/s ${out.bare.cpu.toFixed(1)} µs/req, cookie ${Math.round(out.cookie.rps)} req/s ${out.cookie.cpu.toFixed(1)} µs/req: ratio ${(out.cookie.rps / out.bare.rps).toFixed(3)}`);
    }
    const sorted = [...rps].sort((x, y) => x - y);
    paired = { median: median(rps), min: sorted[0], max: sorted[sorted.length - 1], q1: sorted[Math.floor((sorted.length - 1) / 4)], q3: sorted[Math.ceil(((sorted.length - 1) * 3) / 4)], cpu: median(cpu) };
  }
  const c = stats.cookie ? row('cookie') : nan;
  const t = stats.tuned ? row('tuned') : nan;
  console.log(`Gatehouse cookie: ${ratio(c.rps, b.rps, 3)}x the bare hop (goal >= 0.90), ${ratio(c.rps, u.rps)}x the usual stack (goal >= 4; ${ratio(c.rps, t.rps)}x its KeyObject variant); CPU above the bare hop: ${(c.cpu - b.cpu).toFixed(1)} µs/req.`);
  if (paired) {
    console.log(
      `Paired (${PAIRS} ABBA pairs x ${PAIR_DURATION} s): Gatehouse cookie ÷ bare hop median ${paired.median.toFixed(3)} (quartiles ${paired.q1.toFixed(3)}–${paired.q3.toFixed(3)}, range ${paired.min.toFixed(3)}–${paired.max.toFixed(3)}; goal >= 0.90); CPU above the bare hop, median ${paired.cpu.toFixed(1)} µs/req.`,
    );
  }
  console.log(`(${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s interleaved per target after a ${WARMUP} s warm-up; req/s is the mean over rounds, p50/p99 the median over rounds; CPU is utime+stime of the target process over all its measured runs / requests; ${machine})`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await finish();
}
