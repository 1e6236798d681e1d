#!/usr/bin/env node
// `gatehouse start --workers N` (issue 16): signed-in cookie requests through N gateway
// processes on one port, for N = 1, 2, 4, … up to the CPU count (or `--workers 1,2,…`), each N
// a fresh `gatehouse start` (SQLite, demo off, one route to a tiny upstream in its own process:
// bench/servers.mjs). The load generator is autocannon in processes of its own (`--loaders`,
// default one per two workers, at least one), so its CPU is measured apart, as the upstream's.
// Per N: req/s, p50/p99 (the loaders' histograms merged by taking the worst), req/s ÷ (N × the
// one-worker req/s), CPU µs per request of all Gatehouse processes together (primary and
// workers: utime+stime from /proc/<pid>/stat between the loaders' start and end), and the cores
// used by Gatehouse, the loaders and the upstream. On a box with fewer cores than workers +
// loaders + upstream the processes share cores: the table then shows contention, not scaling.
// Bounded: per N, start-up + WARMUP + DURATION s (defaults 2 + 5); stops by itself, every child
// stopped even on failure. 127.0.0.1 only. Needs `npm run build`.
//   node bench/workers.mjs [--workers 1,2,4] [--duration 5] [--warmup 2] [--connections 64] [--loaders N]
// A loader (internal): node bench/workers.mjs --as-loader <url> <cookie> <connections> <warmup s> <duration s>
import autocannon from 'autocannon';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cleanup, processFamily, signIn, signUp, startChild, startRole, tempDir, writeConfig } from './cluster.mjs';

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === '--as-loader') {
  const [url, cookie, connections, warmup, duration] = process.argv.slice(3);
  const run = (d) =>
    new Promise((resolve, reject) =>
      autocannon({ url, connections: Number(connections), duration: Number(d), headers: { cookie }, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r))),
    );
  await run(warmup);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  process.stdout.write('START\n');
  const r = await run(duration);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`DONE ${JSON.stringify({ ok: r['2xx'], other: r.non2xx + r.errors + r.timeouts, seconds, p50: r.latency.p50, p99: r.latency.p99, cpuMicros: cpu.user + cpu.system })}\n`);
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    workers: { type: 'string' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    loaders: { type: 'string' },
  },
});
const CPUS = availableParallelism();
const powers = [];
for (let n = 1; n < CPUS; n *= 2) powers.push(n);
powers.push(CPUS);
const WORKERS = (values.workers ?? powers.join(','))
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n >= 1 && n <= 256);
const DURATION = Math.max(1, Math.min(Number(values.duration), 20));
const WARMUP = Math.max(0, Math.min(Number(values.warmup), 10));
const CONNECTIONS = Math.max(1, Math.min(Number(values.connections), 1024));

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // Linux default.
}

/** utime + stime of a process in µs (0 once it is gone). */
function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}


const sum = (pids) => pids.reduce((a, p) => a + cpuMicros(p), 0);

/** Starts `n` loaders; resolves with the measured window's results and CPU of each group. */
async function load(url, cookie, n, gatehousePids, upstreamPid) {
  const per = Math.max(1, Math.round(CONNECTIONS / n));
  const loaders = [];
  for (let i = 0; i < n; i++) {
    const p = spawn(process.execPath, [SELF, '--as-loader', url, cookie, String(per), String(WARMUP), String(DURATION)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const started = new Promise((resolve) => p.stdout.on('data', (d) => ((out += d), out.includes('START') && resolve())));
    const done = new Promise((resolve, reject) => {
      p.once('exit', (code) => {
        const m = /DONE (.*)/.exec(out);
        if (m) resolve(JSON.parse(m[1]));
        else reject(new Error(`loader exited with ${code}: ${out}`));
      });
    });
    loaders.push({ p, started, done });
  }
  await Promise.all(loaders.map((l) => l.started));
  const g0 = sum(gatehousePids);
  const u0 = cpuMicros(upstreamPid);
  const t0 = performance.now();
  const results = [];
  // Gatehouse and upstream CPU are read when the first loader ends its window (the others end within ms).
  let g1 = 0;
  let u1 = 0;
  let t1 = 0;
  await Promise.all(
    loaders.map((l) =>
      l.done.then((r) => {
        if (t1 === 0) {
          g1 = sum(gatehousePids);
          u1 = cpuMicros(upstreamPid);
          t1 = performance.now();
        }
        results.push(r);
      }),
    ),
  );
  const wall = (t1 - t0) / 1000;
  const ok = results.reduce((a, r) => a + r.ok, 0);
  const other = results.reduce((a, r) => a + r.other, 0);
  const seconds = results.reduce((a, r) => a + r.seconds, 0) / results.length;
  return {
    reqs: ok / seconds,
    ok,
    other,
    p50: Math.max(...results.map((r) => r.p50)),
    p99: Math.max(...results.map((r) => r.p99)),
    gatehouseCpuPerReq: (g1 - g0) / ok,
    gatehouseCores: (g1 - g0) / 1e6 / wall,
    loaderCores: results.reduce((a, r) => a + r.cpuMicros, 0) / 1e6 / seconds,
    upstreamCores: (u1 - u0) / 1e6 / wall,
  };
}

const f1 = (x) => x.toFixed(1);
const f2 = (x) => x.toFixed(2);

try {
  console.log(`machine: ${CPUS} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
  console.log(`workers ${WORKERS.join(', ')}; ${CONNECTIONS} connections; ${WARMUP} s warm-up + ${DURATION} s per N`);
  const upstream = await startChild(['bench/servers.mjs', 'upstream']);
  const config = writeConfig({ demo: false, routes: [{ path: '/api/bench', upstream: upstream.url, service: 'bench', auth: 'required' }] });
  const rows = [];
  for (const n of WORKERS) {
    const gh = await startRole('start', { GATEHOUSE_CONFIG: config, GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_WORKERS: String(n) });
    const pids = processFamily(gh.proc.pid);
    if (pids.length !== (n > 1 ? n + 1 : 1)) throw new Error(`expected ${n > 1 ? n + 1 : 1} Gatehouse processes, found ${pids.length}`);
    await signUp(gh.url, `bench${n}`);
    const { cookie } = await signIn(gh.url, `bench${n}`);
    const loaders = values.loaders !== undefined ? Math.max(1, Number(values.loaders)) : Math.max(1, Math.ceil(n / 2));
    const r = await load(`${gh.url}/api/bench`, cookie, loaders, pids, upstream.proc.pid);
    await gh.stop();
    if (r.other > 0) console.log(`  N=${n}: ${r.other} answers were not 2xx`);
    rows.push({ n, loaders, ...r });
    console.log(
      `N=${n}: ${Math.round(r.reqs)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${f1(r.gatehouseCpuPerReq)} µs CPU/req (Gatehouse), cores: Gatehouse ${f2(r.gatehouseCores)}, loaders (${loaders}) ${f2(r.loaderCores)}, upstream ${f2(r.upstreamCores)}`,
    );
  }
  const one = rows.find((r) => r.n === 1)?.reqs;
  console.log('\n| workers | req/s | ÷ (N × 1 worker) | p50 / p99 ms | Gatehouse CPU µs/req | Gatehouse cores | loader cores (processes) | upstream cores |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const eff = one === undefined ? '—' : f2(r.reqs / (r.n * one));
    console.log(`| ${r.n} | ${Math.round(r.reqs)} | ${eff} | ${r.p50} / ${r.p99} | ${f1(r.gatehouseCpuPerReq)} | ${f2(r.gatehouseCores)} | ${f2(r.loaderCores)} (${r.loaders}) | ${f2(r.upstreamCores)} |`);
  }
  const busy = rows.at(-1);
  if (busy !== undefined && busy.gatehouseCores + busy.loaderCores + busy.upstreamCores > CPUS * 0.9) {
    console.log(`\nAt N=${busy.n} Gatehouse, the loaders and the upstream used ${f2(busy.gatehouseCores + busy.loaderCores + busy.upstreamCores)} of ${CPUS} cores: the box was full, so that row shows sharing, not scaling.`);
  }
} finally {
  await cleanup();
}
