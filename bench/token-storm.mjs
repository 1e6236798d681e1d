#!/usr/bin/env node
// The auth service under a token storm (issue 19), measured the way Keycloak publishes sizing:
// operations per CPU-second of every Gatehouse process (the load generator, this process,
// excluded), on embedded SQLite (`gatehouse start`) and on PostgreSQL + Redis (`gatehouse auth` +
// `gatehouse gateway`, a private database and a private redis-server). Every request goes through
// the gateway, as apps send them.
// Prepare: --users users signed up, --devices device sessions from the password grant
// (POST /auth/token grant_type=password, a device_id each), a confidential client registered
// with `gatehouse clients add`. Phases (closed loop, --concurrency requests in flight):
//   refresh  grant_type=refresh_token: each virtual device holds its current refresh token and
//            refreshes it in a loop (never two in flight for one token; a worker owns its devices);
//            then the same at half the measured rate (open loop, paced) for the latency there.
//   client   grant_type=client_credentials (client_secret_basic).
//   signin   grant_type=password, a new device_id each (no session replaced), --signin-concurrency
//            in flight; beside it the same argon2id parameters hashed with @node-rs/argon2 in this
//            process on as many threads as the server hashes on (password.maxConcurrentHashes,
//            measured while the server is idle), and the ratio.
//   signout  POST /auth/signout with the bearer access token of each session the signin phase made
//            (a short signin run first when it did not run): the device session and its refresh
//            token end.
//   cookie-beside-refresh  signed-in cookie GETs alone, then with a refresh storm beside them.
//   memory   a fresh target per backend; N sessions (--sessions, ascending), 10 per password-less
//            user, made from this process: on SQLite with the built store API (packages/server/dist:
//            users.create, sessions.createReplacingDevice, what a sign-in writes), on PostgreSQL
//            with one INSERT … SELECT generate_series (the store API's serializable transactions
//            take minutes for 100 000); then one GET per new cookie through the gateway, so each
//            lands in its LRU (session.cacheMax raised to hold them); VmRSS/VmHWM of the gateway
//            process (embedded: gateway and auth in one).
// Per phase: ops, ops/s, p50/p99 ms, Gatehouse CPU ms/op and ops per CPU-second (/proc schedstat of
// every thread of every Gatehouse process, exact ns; on PostgreSQL also the backends of the bench
// database, the cluster's background processes and redis-server, each shown apart), and writes per op:
//   SQLite: write transactions, counted at better-sqlite3's API in the server process
//     (bench/sqlite-writes-probe.mjs preloaded with --import: a COMMIT after an INSERT/UPDATE/
//     DELETE, or one of those in autocommit): exact, and independent of checkpoints, which a WAL
//     file count is not (an auto-checkpoint every 1000 frames rewinds the WAL); plus what reaches
//     the kernel, from `perf stat` on syscall tracepoints of the Gatehouse processes: fsync +
//     fdatasync calls (with synchronous=NORMAL a commit syncs nothing; checkpoints do) and WAL
//     frames (pwrite64 of exactly 24 bytes: SQLite writes each frame's header by itself). perf
//     adds a little CPU to every syscall while it counts (needs perf and root; omitted without).
//   PostgreSQL: deltas of pg_stat_database (bench database: xact_commit, tup_inserted + updated +
//     deleted) and pg_stat_wal (wal_records, wal_sync; cluster-wide, so another tenant's traffic
//     counts too), read 1.5 s after the window (backends flush their stats at most once a second).
// Bounded: each phase --duration s (default 10) plus preparation; `--phase all` ~2.5 min per
// backend on 2 cores (the memory phase on PostgreSQL up to ~2 min more: 100 000 cold GETs). 127.0.0.1 only; stops by itself, every child and temp dir removed.
// The Gatehouse processes log at --log-level (default error, as the other benches; `info`, the
// server's default, adds a log line per grant, written to a pipe this process reads).
// `--cpu-prof DIR` runs the Gatehouse processes under node --cpu-prof (profiles written to DIR on
// exit) and prints the top self and inclusive functions of the refresh window (the client window when only that runs).
// Needs `npm run build`.
//   node bench/token-storm.mjs [--backend sqlite|postgres|both] [--phase refresh|client|signin|signout|cookie-beside-refresh|memory|all]
//     [--duration 10] [--concurrency 16] [--signin-concurrency 4] [--users 16] [--devices 64] [--sessions 10000,100000]
//     [--no-perf] [--log-level error] [--cpu-prof DIR] [--top 25] [--grant-share PERCENT]
// `--grant-share 100` turns the grant CPU-share budget of `gatehouse start` off (gateway.grantSharePercent).
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import {
  CLI,
  cleanup,
  masterKey,
  PASSWORD,
  processFamily,
  PrivateRedis,
  privateDatabase,
  quantiles,
  root,
  signIn,
  signUp,
  sleep,
  startChild,
  TEST_DATABASE_URL,
  tempDir,
  threadCpuNs,
  writeConfig,
} from './cluster.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    phase: { type: 'string', default: 'all' },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    'signin-concurrency': { type: 'string', default: '4' },
    users: { type: 'string', default: '16' },
    devices: { type: 'string', default: '64' },
    sessions: { type: 'string', default: '10000,100000' },
    'cpu-prof': { type: 'string' },
    'no-perf': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'error' },
    top: { type: 'string', default: '25' },
    'grant-share': { type: 'string' },
  },
});
const PHASES = ['refresh', 'client', 'signin', 'signout', 'cookie-beside-refresh', 'memory'];
const phases = values.phase === 'all' ? PHASES : values.phase.split(',');
const backends = values.backend === 'both' ? ['sqlite', 'postgres'] : [values.backend];
if (phases.some((p) => !PHASES.includes(p)) || backends.some((b) => b !== 'sqlite' && b !== 'postgres')) {
  console.error(`--phase is one or more of ${PHASES.join(', ')} or all; --backend sqlite, postgres or both`);
  process.exit(2);
}
const DURATION = Math.max(1, Math.min(Number(values.duration), 60));
const CONCURRENCY = Math.max(1, Math.min(Number(values.concurrency), 256));
const SIGNIN_CONCURRENCY = Math.max(1, Math.min(Number(values['signin-concurrency']), 64));
const DEVICES = Math.max(CONCURRENCY, Math.min(Number(values.devices), 2000));
const USERS = Math.max(1, Math.min(Number(values.users), DEVICES));
const SESSIONS = values.sessions
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0 && n <= 200_000)
  .sort((a, b) => a - b);
const CPU_PROF = values['cpu-prof'];
const dist = new URL('../packages/server/dist/', import.meta.url);

// Whole run bound: preparation and phases, per backend, generously.
const watchdog = setTimeout(
  () => {
    console.error('token-storm.mjs: over its time budget; stopping');
    void cleanup().then(() => process.exit(1));
  },
  backends.length * (120 + phases.length * (DURATION * 3 + 30) + (phases.includes('memory') ? 240 : 0)) * 1000,
);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const CLIENT_ID = 'storm-svc';
const form = { 'content-type': 'application/x-www-form-urlencoded' };
const ms = (x) => x.toFixed(2);
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

const cpuNs = (pids) => pids.reduce((a, p) => a + (threadCpuNs(p)?.all ?? 0), 0);

function status(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

let perfOk = null;
async function havePerf() {
  if (values['no-perf']) return false;
  if (perfOk !== null) return perfOk;
  perfOk = await new Promise((resolve) => {
    const p = spawn('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_fsync', '--', 'true'], { stdio: 'ignore' });
    p.once('error', () => resolve(false));
    p.once('exit', (c) => resolve(c === 0));
  });
  if (!perfOk) console.log('perf (with syscall tracepoints) not usable here: fsyncs and WAL frames omitted');
  return perfOk;
}

/** The Gatehouse target of one backend, started and prepared. */
async function startTarget(backend, { cacheMax, profile } = {}) {
  const upstream = await startChild(['bench/servers.mjs', 'upstream']);
  const config = writeConfig({
    demo: false,
    routes: [{ path: '/api/bench', upstream: upstream.url, service: 'bench', auth: 'required' }],
    ...(cacheMax ? { session: { cacheMax } } : {}),
    ...(values['grant-share'] ? { gateway: { grantSharePercent: Number(values['grant-share']) } } : {}),
  });
  const writesFile = join(tempDir(), 'writes.json');
  const nodeFlags = profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : [];
  const t = { backend, upstream, writesFile };
  const addClient = async (env) => {
    const add = await startChild([CLI, 'clients', 'add', CLIENT_ID, '--name', 'Storm service', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], env, /^(ghc_[0-9A-Za-z]{49})$/m);
    await add.stop();
    return add.url;
  };
  const role = async (name, env, port = 0) => {
    const pre = backend === 'sqlite' ? ['--import', pathToFileURL(join(root, 'bench/sqlite-writes-probe.mjs')).href] : [];
    const child = await startChild([...pre, ...nodeFlags, CLI, name, '--port', String(port)], env, /is up at (http:\/\/\S+)/, { timeoutMs: 60_000 });
    for (let i = 0; i < 200; i++) {
      if ((await fetch(`${child.url}/healthz`).then((r) => r.status, () => 0)) === 200) return child;
      await sleep(50);
    }
    throw new Error(`${name}: /healthz did not answer 200`);
  };
  if (backend === 'sqlite') {
    const dataDir = tempDir();
    const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: config, GATEHOUSE_BENCH_WRITES_FILE: writesFile, GATEHOUSE_LOG_LEVEL: values['log-level'] };
    t.secret = await addClient(env);
    const gh = await role('start', env);
    t.gateway = gh;
    t.processes = [gh];
    t.base = gh.url;
    t.openStores = async () => {
      const { openSqliteStores } = await import(new URL('stores/sqlite/open-sqlite-stores.js', dist).href);
      return openSqliteStores({ file: join(dataDir, 'gatehouse.db'), clock: { now: () => Date.now() } });
    };
  } else {
    const db = await privateDatabase();
    if (!db) return null;
    const redis = new PrivateRedis();
    await redis.start();
    const env = { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: masterKey(), GATEHOUSE_CONFIG: config, GATEHOUSE_LOG_LEVEL: values['log-level'] };
    const auth = await role('auth', env);
    t.secret = await addClient(env);
    const gw = await role('gateway', { ...env, GATEHOUSE_AUTH_URL: auth.url });
    t.gateway = gw;
    t.processes = [gw, auth];
    t.base = gw.url;
    t.redis = redis;
    t.db = db;
    t.dbName = new URL(db).pathname.slice(1);
    t.stats = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await t.stats.connect();
    t.openStores = async () => {
      const { openPostgresStores } = await import(new URL('stores/postgres/open-postgres-stores.js', dist).href);
      return openPostgresStores({ url: db, clock: { now: () => Date.now() } });
    };
  }
  t.pool = new Pool(t.base, { connections: Math.max(CONCURRENCY, SIGNIN_CONCURRENCY) * 2, pipelining: 1 });
  t.pids = () => t.processes.flatMap((p) => processFamily(p.proc.pid));
  return t;
}

async function stopTarget(t) {
  await t.pool.close();
  if (t.stats) await t.stats.end();
  for (const p of t.processes) await p.stop();
  await t.upstream.stop();
  if (t.redis) await t.redis.kill('SIGTERM');
}

/** POST /auth/token; resolves with the JSON answer, throws unless 200. */
async function token(t, params, headers = {}) {
  const r = await t.pool.request({ path: '/auth/token', method: 'POST', headers: { ...form, ...headers }, body: new URLSearchParams(params).toString() });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${params.grant_type}: ${r.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** CPU (ns) of every process that serves the target, by group. */
async function cpuGroups(t) {
  const g = { gatehouse: cpuNs(t.pids()) };
  if (t.backend === 'postgres') {
    const r = await t.stats.query(
      `select pid, datname, backend_type from pg_stat_activity where pid <> pg_backend_pid() and (datname = $1 or backend_type in ('walwriter', 'checkpointer', 'background writer', 'autovacuum launcher', 'logical replication launcher', 'autovacuum worker'))`,
      [t.dbName],
    );
    g.pgBackends = cpuNs(r.rows.filter((x) => x.datname === t.dbName).map((x) => x.pid));
    g.pgBackground = cpuNs(r.rows.filter((x) => x.datname !== t.dbName).map((x) => x.pid));
    g.redis = cpuNs([t.redis.proc.pid]);
  }
  return g;
}

/** Starts counting the writes of the target; `stop()` resolves with the counts since. */
async function countWrites(t) {
  if (t.backend === 'sqlite') {
    const probe = async () => {
      rmSync(t.writesFile, { force: true });
      t.gateway.proc.kill('SIGUSR2');
      for (let i = 0; i < 200 && !existsSync(t.writesFile); i++) await sleep(5);
      return JSON.parse(readFileSync(t.writesFile, 'utf8'));
    };
    let perf;
    let perfErr = '';
    if (await havePerf()) {
      perf = spawn('perf', ['stat', '-x,', '-e', 'syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync', '-e', 'syscalls:sys_enter_pwrite64', '--filter', 'count == 24', '-p', t.pids().join(',')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      perf.stderr.on('data', (d) => (perfErr += d));
      await sleep(300);
    }
    const p0 = await probe();
    return async () => {
      const p1 = await probe();
      const out = { writeTransactions: p1.writeTransactions - p0.writeTransactions, writeStatements: p1.writeStatements - p0.writeStatements, statements: p1.statements - p0.statements };
      if (perf) {
        await new Promise((r) => {
          perf.once('exit', r);
          perf.kill('SIGINT');
        });
        const n = (ev) => Number(new RegExp(`^(\\d+),[^,]*,syscalls:sys_enter_${ev}\\b`, 'm').exec(perfErr)?.[1] ?? NaN);
        out.fsyncs = n('fsync') + n('fdatasync');
        out.walFrames = n('pwrite64');
      }
      return out;
    };
  }
  const read = async () => {
    await t.stats.query('select pg_stat_clear_snapshot()');
    const d = (await t.stats.query('select xact_commit, tup_inserted, tup_updated, tup_deleted from pg_stat_database where datname = $1', [t.dbName])).rows[0];
    const w = (await t.stats.query('select wal_records, wal_sync, wal_fpi from pg_stat_wal')).rows[0];
    return {
      xactCommit: Number(d.xact_commit),
      tuples: Number(d.tup_inserted) + Number(d.tup_updated) + Number(d.tup_deleted),
      walRecords: Number(w.wal_records),
      walSync: Number(w.wal_sync),
    };
  };
  await sleep(1500);
  const a = await read();
  return async () => {
    await sleep(1500);
    const b = await read();
    return Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));
  };
}

/** What a worker answers when it has nothing left to do (not a failure). */
const EXHAUSTED = Symbol('exhausted');

/**
 * Runs `workers` (each an async function: one operation, throws on failure) in closed loops for
 * `seconds`, in flight together; measures latency, CPU by group and (with `writes`) writes.
 */
async function window(t, label, workers, seconds, { writes = true, pace } = {}) {
  const stopWrites = writes ? await countWrites(t) : null;
  const c0 = await cpuGroups(t);
  const load0 = process.cpuUsage();
  const lat = [];
  let errors = 0;
  let firstError;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    workers.map(async (w, i) => {
      let next = t0 + (pace ? (i * pace) / workers.length : 0);
      while (performance.now() < deadline) {
        if (pace) {
          const wait = next - performance.now();
          next += pace;
          if (wait > 0) await sleep(wait);
          if (performance.now() >= deadline) break;
        }
        const s = performance.now();
        const r = await w().catch((err) => {
          firstError ??= err.message;
          return false;
        });
        if (r === EXHAUSTED) break;
        if (r === false) errors++;
        else lat.push(performance.now() - s);
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const c1 = await cpuGroups(t);
  const load = process.cpuUsage(load0);
  const w = stopWrites ? await stopWrites() : null;
  const ops = lat.length;
  const q = ops ? quantiles(lat) : { p50: NaN, p99: NaN };
  const cpu = Object.fromEntries(Object.keys(c0).map((k) => [k, (c1[k] - c0[k]) / 1e6]));
  cpu.loader = (load.user + load.system) / 1000;
  const r = { label, ops, errors, wall, rate: ops / wall, p50: q.p50, p99: q.p99, cpu, writes: w, firstError };
  report(t, r);
  return r;
}

function report(t, r) {
  const g = r.cpu.gatehouse;
  let line = `  ${r.label}: ${r.ops} ops in ${f1(r.wall)} s = ${f1(r.rate)}/s, p50 ${ms(r.p50)} ms p99 ${ms(r.p99)} ms | Gatehouse CPU ${f2(g / r.ops)} ms/op = ${f1((r.ops / g) * 1000)} ops/CPU-s (${f2(g / 1000 / r.wall)} cores; load generator ${f2(r.cpu.loader / 1000 / r.wall)})`;
  if (t.backend === 'postgres') {
    line += ` | PostgreSQL backends ${f2(r.cpu.pgBackends / r.ops)} ms/op, cluster background ${f2(r.cpu.pgBackground / r.ops)} ms/op, redis ${f2(r.cpu.redis / r.ops)} ms/op; all together ${f1((r.ops / (g + r.cpu.pgBackends + r.cpu.redis)) * 1000)} ops/CPU-s`;
  }
  console.log(line);
  if (r.errors) console.log(`    ${r.errors} failed (first: ${r.firstError})`);
  const w = r.writes;
  if (w) {
    const per = (x) => f2(x / r.ops);
    if (t.backend === 'sqlite') {
      console.log(`    writes/op: ${per(w.writeTransactions)} write transactions (${per(w.writeStatements)} write statements of ${per(w.statements)} statements), ${per(w.fsyncs)} fsync+fdatasync, ${per(w.walFrames)} WAL frames`);
    } else {
      console.log(`    writes/op: ${per(w.xactCommit)} commits (pg_stat_database, all transactions), ${per(w.tuples)} tuples written, ${per(w.walRecords)} WAL records, ${per(w.walSync)} WAL syncs (pg_stat_wal, cluster-wide)`);
    }
  }
}

/** `fn()` again (up to 20 times, 0.5 s apart) while the server answers 503 busy (its hash queue is full). */
async function whileBusy(fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 20 || !/: 503 /.test(err.message)) throw err;
      await sleep(500);
    }
  }
}

/** Prepares USERS users and DEVICES device sessions (password grant); resolves with the devices. */
async function prepare(t) {
  const t0 = performance.now();
  const users = Array.from({ length: USERS }, (_, i) => `storm${i}`);
  for (let i = 0; i < users.length; i += 4) await Promise.all(users.slice(i, i + 4).map((u) => whileBusy(() => signUp(t.base, u))));
  const devices = [];
  for (let i = 0; i < DEVICES; i += 4) {
    const batch = Array.from({ length: Math.min(4, DEVICES - i) }, (_, k) => i + k);
    devices.push(
      ...(await Promise.all(
        batch.map(async (d) => {
          const a = await whileBusy(() => token(t, { grant_type: 'password', username: users[d % USERS], password: PASSWORD, device_id: `storm-device-${d}` }));
          return { refreshToken: a.refresh_token };
        }),
      )),
    );
  }
  console.log(`  prepared ${USERS} users, ${DEVICES} device sessions (password grant) in ${f1((performance.now() - t0) / 1000)} s`);
  return { users, devices };
}

/** One worker per concurrency slot; worker i owns devices i, i + C, i + 2C, … and refreshes them in turn. */
function refreshWorkers(t, devices, concurrency) {
  return Array.from({ length: concurrency }, (_, i) => {
    const mine = devices.filter((_, d) => d % concurrency === i);
    let k = 0;
    return async () => {
      const dev = mine[k++ % mine.length];
      const a = await token(t, { grant_type: 'refresh_token', refresh_token: dev.refreshToken });
      dev.refreshToken = a.refresh_token;
    };
  });
}

async function hashingOnly(seconds, threads) {
  const { ARGON2ID_OPTIONS } = await import(new URL('crypto/password-hasher.js', dist).href);
  const phc = await argonHash(PASSWORD, ARGON2ID_OPTIONS);
  let n = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: threads }, async () => {
      while (performance.now() < deadline) {
        await argonVerify(phc, PASSWORD);
        n++;
      }
    }),
  );
  return { rate: n / ((performance.now() - t0) / 1000), params: ARGON2ID_OPTIONS };
}

/** The measured refresh window (or the client one when refresh is not run; epoch ms), its ops and their name, for --cpu-prof. */
let profileWindow = null;

/**
 * Top self and inclusive functions of one .cpuprofile within the refresh window, µs per refresh.
 * The profile's clock is the process's monotonic one: its endTime is taken as the moment the
 * process was stopped (`stoppedAt`, epoch ms; a few ms late at most), and the window placed back
 * from there.
 */
function summariseProfile(file, win, stoppedAt) {
  const TOP = Math.max(5, Math.min(Number(values.top), 200));
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const from = profile.endTime - (stoppedAt - win.from) * 1000;
  const to = profile.endTime - (stoppedAt - win.to) * 1000;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => {
    const cf = n.callFrame;
    const url = cf.url ? relative(root, cf.url.replace(/^file:\/\//, '')).replace(/.*node_modules\//, '') : '';
    return `${cf.functionName || '(anonymous)'} ${url}${url ? `:${cf.lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  const incl = new Map();
  let at = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    let n = byId.get(profile.samples[i]);
    const k = key(n);
    if (n.callFrame.functionName === '(idle)') continue;
    total += dt;
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      n = byId.get(id);
      const kk = key(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + dt);
    }
  }
  // Self time by where the code lives: a package, a folder of Gatehouse's dist, a node: module.
  const area = (n) => {
    const url = n.callFrame.url;
    if (!url) return n.callFrame.functionName.startsWith('better-sqlite3') ? 'better-sqlite3 (native SQLite)' : `(${n.callFrame.functionName || 'native'})`;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg) return pkg;
    const ours = /packages\/server\/dist\/([^/]+(?:\/[^/.]+)?)/.exec(url)?.[1];
    if (ours) return `gatehouse ${ours.replace(/\.js$/, '')}`;
    if (url.includes('sqlite-writes-probe')) return 'better-sqlite3 (native SQLite)';
    return url.replace(/^node:internal\/([^/]+).*/, 'node:$1');
  };
  const areas = new Map();
  at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    const n = byId.get(profile.samples[i]);
    if (n.callFrame.functionName === '(idle)') continue;
    const a = area(n);
    areas.set(a, (areas.get(a) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const per = (us) => (us / win.ops).toFixed(1).padStart(7);
  console.log(`\n  profile ${relative(process.cwd(), file)}: ${per(total).trim()} µs of main-thread CPU (not idle) per ${win.what} in the window (${win.ops} ops)`);
  console.log(`  self time by area, µs per ${win.what}:`);
  for (const [k, v] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${per(v)}  ${k}`);
  console.log(`  top self time, µs per ${win.what}:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${per(v)}  ${k}`);
  console.log(`  top inclusive time, µs per ${win.what}:`);
  for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, TOP * 2)) console.log(`  ${per(v)}  ${k}`);
}

async function runBackend(backend) {
  console.log(`\n## ${backend === 'sqlite' ? 'embedded SQLite (gatehouse start)' : 'PostgreSQL + Redis (gatehouse auth + gatehouse gateway)'}`);
  const needsTarget = phases.some((p) => p !== 'memory');
  const results = {};
  if (needsTarget) {
    const t = await startTarget(backend, { profile: CPU_PROF });
    if (!t) return results;
    const { users, devices } = await prepare(t);
    const signinSessions = [];
    let signinSeq = 0;
    const signinWorkers = (n) =>
      Array.from({ length: n }, () => async () => {
        const s = signinSeq++;
        const a = await token(t, { grant_type: 'password', username: users[s % users.length], password: PASSWORD, device_id: `storm-signin-${s}` });
        signinSessions.push(a.access_token);
      });
    for (const phase of phases) {
      if (phase === 'refresh') {
        // Warm-up (JIT, pools), unmeasured.
        await window(t, 'refresh warm-up', refreshWorkers(t, devices, CONCURRENCY), Math.min(2, DURATION), { writes: false });
        const from = Date.now();
        const full = await window(t, `refresh, ${CONCURRENCY} in flight`, refreshWorkers(t, devices, CONCURRENCY), DURATION);
        results.refresh = full;
        profileWindow = { from, to: Date.now(), ops: full.ops, what: 'refresh' };
        if (full.rate > 0) {
          const half = full.rate / 2;
          const r = await window(t, `refresh at half that rate (${f1(half)}/s, paced)`, refreshWorkers(t, devices, CONCURRENCY), Math.max(2, DURATION / 2), { pace: (CONCURRENCY * 1000) / half, writes: false });
          results.refreshHalf = r;
        }
      } else if (phase === 'client') {
        const auth = { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${t.secret}`).toString('base64')}` };
        const w = () => Array.from({ length: CONCURRENCY }, () => () => token(t, { grant_type: 'client_credentials' }, auth));
        await window(t, 'client_credentials warm-up', w(), Math.min(2, DURATION), { writes: false });
        const from = Date.now();
        results.client = await window(t, `client_credentials, ${CONCURRENCY} in flight`, w(), DURATION);
        // --cpu-prof summarises the refresh window when there is one, else this one.
        if (!phases.includes('refresh')) profileWindow = { from, to: Date.now(), ops: results.client.ops, what: 'client grant' };
      } else if (phase === 'signin') {
        const threads = Math.max(1, Math.min(4, availableParallelism() - 1)); // password.maxConcurrentHashes' default
        // Hashing alone just before and just after the sign-ins (this box drifts): their mean is the scale.
        const h0 = await hashingOnly(Math.min(DURATION / 2, 5), threads);
        const r = await window(t, `sign-in (password grant), ${SIGNIN_CONCURRENCY} in flight`, signinWorkers(SIGNIN_CONCURRENCY), DURATION);
        const h1 = await hashingOnly(Math.min(DURATION / 2, 5), threads);
        const p = h0.params;
        const hashRate = (h0.rate + h1.rate) / 2;
        console.log(
          `    argon2id m=${p.memoryCost} KiB t=${p.timeCost} p=${p.parallelism}: hashing alone ${f1(h0.rate)}/s before, ${f1(h1.rate)}/s after, on ${threads} thread(s) in this process (server idle); sign-ins ÷ hashing alone = ${f2(r.rate / hashRate)} (goal >= 0.90)`,
        );
        results.signin = { ...r, hashRate };
      } else if (phase === 'signout') {
        if (signinSessions.length < CONCURRENCY * 4) {
          await window(t, 'sign-ins to sign out (preparation)', signinWorkers(SIGNIN_CONCURRENCY), Math.max(2, DURATION / 2), { writes: false });
        }
        const tokens = signinSessions.splice(0);
        const w = Array.from({ length: CONCURRENCY }, () => async () => {
          const at = tokens.pop();
          if (at === undefined) return EXHAUSTED;
          const r = await t.pool.request({ path: '/auth/signout', method: 'POST', headers: { authorization: `Bearer ${at}` } });
          await r.body.dump();
          if (r.statusCode !== 204) throw new Error(`signout: ${r.statusCode}`);
        });
        results.signout = await window(t, `sign-out (bearer, ${tokens.length} device sessions, until done), ${CONCURRENCY} in flight`, w, DURATION);
      } else if (phase === 'cookie-beside-refresh') {
        const { cookie } = await signIn(t.base, users[0]);
        const cookieWorkers = () =>
          Array.from({ length: CONCURRENCY }, () => async () => {
            const r = await t.pool.request({ path: '/api/bench', method: 'GET', headers: { cookie } });
            await r.body.dump();
            if (r.statusCode !== 200) throw new Error(`cookie GET: ${r.statusCode}`);
          });
        await window(t, 'cookie warm-up', cookieWorkers(), Math.min(2, DURATION), { writes: false });
        const alone = await window(t, `cookie GETs alone, ${CONCURRENCY} in flight`, cookieWorkers(), DURATION, { writes: false });
        // Both loops in one window: the two kinds of operation are told apart by tagging.
        let cookieOps = 0;
        let refreshOps = 0;
        const tag = (ws, inc) => ws.map((w) => async () => (await w(), inc()));
        const both = await window(
          t,
          `cookie GETs + refresh storm (${CONCURRENCY} + ${CONCURRENCY} in flight), all ops`,
          [...tag(cookieWorkers(), () => cookieOps++), ...tag(refreshWorkers(t, devices, CONCURRENCY), () => refreshOps++)],
          DURATION,
          { writes: false },
        );
        const cookieRate = cookieOps / both.wall;
        console.log(`    beside the storm: cookie ${f1(cookieRate)}/s, refresh ${f1(refreshOps / both.wall)}/s; cookie throughput ratio ${f2(cookieRate / alone.rate)} (goal >= 0.80)`);
        results.cookie = { alone: alone.rate, beside: cookieRate, ratio: cookieRate / alone.rate };
      }
    }
    const before = CPU_PROF ? new Set(existsSync(CPU_PROF) ? readdirSync(CPU_PROF) : []) : null;
    await stopTarget(t);
    const stoppedAt = Date.now();
    if (CPU_PROF) {
      console.log(`  CPU profiles written to ${CPU_PROF}`);
      for (const f of readdirSync(CPU_PROF).filter((x) => x.endsWith('.cpuprofile') && !before.has(x))) {
        if (profileWindow) summariseProfile(join(CPU_PROF, f), profileWindow, stoppedAt);
      }
    }
  }
  if (phases.includes('memory')) results.memory = await memory(backend);
  return results;
}

/** RSS of a fresh gateway holding N cached sessions, N ascending. */
async function memory(backend) {
  const max = SESSIONS.at(-1);
  if (max === undefined) return null;
  const t = await startTarget(backend, { cacheMax: max + 1000 });
  if (!t) return null;
  await signUp(t.base, 'storm-mem');
  const { cookie } = await signIn(t.base, 'storm-mem');
  const cookieName = cookie.split('; ').find((c) => /session/i.test(c.split('=')[0]))?.split('=')[0] ?? cookie.split('=')[0];
  const get = async (c) => {
    const r = await t.pool.request({ path: '/api/bench', method: 'GET', headers: { cookie: c } });
    await r.body.dump();
    if (r.statusCode !== 200) throw new Error(`cookie GET: ${r.statusCode}`);
  };
  for (let i = 0; i < 200; i++) await get(cookie);
  const gwPid = t.gateway.proc.pid;
  const base = status(gwPid);
  console.log(`  memory: gateway process (pid ${gwPid}${backend === 'sqlite' ? ', gateway and auth in one' : ''}) after start-up and 200 signed-in requests: VmRSS ${f1(base.rssMb)} MB, VmHWM ${f1(base.hwmMb)} MB; cookie ${cookieName}`);
  const { hashSecret, randomId, randomSecret } = await import(new URL('crypto/secrets.js', dist).href);
  const stores = await t.openStores();
  const rows = [];
  try {
    let have = 0;
    const now = Date.now();
    const DAY = 86_400_000;
    for (const n of SESSIONS) {
      const t0 = performance.now();
      const cookies = [];
      // PostgreSQL runs these serializable and in parallel here: a serialization failure is retried.
      const retry = async (fn) => {
        for (let k = 0; ; k++) {
          try {
            return await fn();
          } catch (err) {
            if (k >= 10 || !/serialize|unavailable/i.test(`${err.message} ${err.cause?.message ?? ''}`)) throw err;
            await sleep(5 + Math.random() * 20);
          }
        }
      };
      const make = async (i) => {
        if (i % 10 === 0) {
          await retry(() => stores.users.create({ id: `storm-mem-u${i / 10}`, username: `stormmem${i / 10}`, usernameCanonical: `stormmem${i / 10}`, passwordHash: '!', roles: [], createdAt: now, updatedAt: now }));
        }
        const secret = randomSecret();
        await retry(() => stores.sessions.createReplacingDevice({
          id: randomId(),
          tokenHash: hashSecret(secret),
          userId: `storm-mem-u${Math.floor(i / 10)}`,
          deviceId: `storm-mem-d${i}`,
          deviceName: null,
          csrfToken: randomSecret(),
          persistent: true,
          createdAt: now,
          lastSeenAt: now,
          expiresAt: now + 30 * DAY,
          absoluteExpiresAt: now + 90 * DAY,
          scope: null,
        }));
        cookies.push(`${cookieName}=${secret}`);
      };
      let how;
      if (backend === 'sqlite') {
        // One at a time (SQLite has one writer); a user before each block of ten sessions.
        for (let i = have; i < n; i++) await make(i);
        how = 'the store API, one session at a time';
      } else {
        // The store API takes ~2 ms a session here (serializable transactions): 100 000 would take
        // minutes. The same rows in one INSERT … SELECT each, the cookie secret of session i being
        // 's' + i padded to 43 characters and its token hash SHA-256 base64url, as hashSecret().
        const raw = new pg.Client({ connectionString: t.db });
        await raw.connect();
        try {
          await raw.query(
            `insert into users (id, username, username_canonical, password_hash, roles, created_at, updated_at)
             select 'storm-mem-u' || i, 'stormmem' || i, 'stormmem' || i, '!', '[]', $1, $1 from generate_series($2::int, $3::int - 1) i`,
            [now, Math.ceil(have / 10), Math.ceil(n / 10)],
          );
          await raw.query(
            `insert into sessions (id, token_hash, user_id, device_id, device_name, csrf_token, persistent, created_at, last_seen_at, expires_at, absolute_expires_at, scope)
             select 'storm-mem-s' || i, rtrim(translate(encode(sha256(convert_to('s' || lpad(i::text, 42, '0'), 'UTF8')), 'base64'), '+/', '-_'), '='),
                    'storm-mem-u' || (i / 10), 'storm-mem-d' || i, null, 'csrf' || i, 1, $1, $1, $2, $3, null
             from generate_series($4::int, $5::int - 1) i`,
            [now, now + 30 * DAY, now + 90 * DAY, have, n],
          );
        } finally {
          await raw.end();
        }
        for (let i = have; i < n; i++) cookies.push(`${cookieName}=s${String(i).padStart(42, '0')}`);
        how = 'one INSERT … SELECT generate_series each for users and sessions';
      }
      const made = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next < cookies.length) await get(cookies[next++]);
      }));
      const requested = (performance.now() - t1) / 1000;
      have = n;
      const s = status(gwPid);
      rows.push({ n, ...s });
      console.log(
        `  memory: ${n} sessions cached (made in ${f1(made)} s with ${how}, one GET each in ${f1(requested)} s): VmRSS ${f1(s.rssMb)} MB, VmHWM ${f1(s.hwmMb)} MB; ${f2(((s.rssMb - base.rssMb) * 1024 * 1024) / n / 1024)} KiB RSS per session over the start`,
      );
    }
  } finally {
    await stores.close();
    await stopTarget(t);
  }
  return rows;
}

try {
  console.log(`token-storm: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}, ${new Date().toISOString()}`);
  console.log(`phases ${phases.join(', ')}; ${DURATION} s each; ${CONCURRENCY} in flight (sign-ins ${SIGNIN_CONCURRENCY}); ${USERS} users, ${DEVICES} devices`);
  for (const backend of backends) await runBackend(backend);
} finally {
  await cleanup();
}
