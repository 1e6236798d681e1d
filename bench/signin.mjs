#!/usr/bin/env node
// Sign-in cost and its effect on authenticated traffic, against `gatehouse start` (embedded) on
// 127.0.0.1:
//   1. one argon2id verification with the same parameters, in this process (@node-rs/argon2
//      directly), vs. a full sign-in over HTTP (gateway -> auth service -> argon2id -> session),
//      each sequential; the difference is everything a sign-in adds to the hash (goal < 2 ms);
//      and the gateway's CPU per sign-in on its main thread (everything but the hash, which runs
//      on threads of its own) and on its other threads, from /proc/<pid>/task/*/schedstat;
//   2. authenticated cookie traffic (autocannon) alone, and while SIGNIN_CONCURRENCY clients
//      sign in back to back (a burst): client p50/p99 latency and req/s, and the gateway
//      process's event-loop delay (p50/p99/max), read by a preloaded probe
//      (bench/eld-probe.mjs, perf_hooks.monitorEventLoopDelay; goal p99 < 5 ms during the burst),
//      and from /metrics when the gateway exports `gatehouse_event_loop_delay_seconds`.
// Bounded: SIGNINS sequential sign-ins + 2 x ROUNDS x DURATION s. Needs `npm run build`.
//   node bench/signin.mjs [--signins 40] [--duration 5] [--rounds 2] [--connections 16] [--signin-concurrency 8] [--max-hashes N]
import { hash, verify } from '@node-rs/argon2';
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ARGON2ID_OPTIONS } from '../packages/server/dist/crypto/password-hasher.js';
import { CLI, cleanup, PASSWORD, quantiles, root, signIn, signInOnce, signUp, sleep, startChild, tempDir, threadCpuNs, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    signins: { type: 'string', default: '40' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    'signin-concurrency': { type: 'string', default: '8' },
    'max-hashes': { type: 'string' },
    'hash-nice': { type: 'string' },
  },
});
const SIGNINS = Math.max(5, Math.min(Number(values.signins), 500));
const DURATION = Math.max(1, Math.min(Number(values.duration), 30));
const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 10));
const CONNECTIONS = Math.max(1, Math.min(Number(values.connections), 256));
const BURST = Math.max(1, Math.min(Number(values['signin-concurrency']), 64));

const watchdog = setTimeout(
  () => {
    console.error('signin.mjs: over its time budget; stopping');
    void cleanup().then(() => process.exit(1));
  },
  (SIGNINS * 2 + 2 * ROUNDS * DURATION + 120) * 1000,
);
watchdog.unref();
process.on('unhandledRejection', (err) => {
  console.error(err);
  void cleanup().then(() => process.exit(1));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const ms = (ns) => Number(ns) / 1e6;
const f = (x) => (x === undefined || x === null ? '—' : x.toFixed(2));

/** One sign-in's time (ms), over undici's request() (`signInOnce`). */
async function timedSignIn(base, username) {
  const body = JSON.stringify({ username, password: PASSWORD });
  const t0 = process.hrtime.bigint();
  await signInOnce(base, body);
  return ms(process.hrtime.bigint() - t0);
}

/** The gateway's own event-loop delay quantiles from /metrics, when it exports them. */
async function metricsEld(base) {
  const text = await fetch(`${base}/metrics`).then((r) => r.text());
  const q = {};
  for (const m of text.matchAll(/^gatehouse_event_loop_delay_seconds\{quantile="([\d.]+)"\} ([\d.e+-]+)$/gm)) q[m[1]] = Number(m[2]) * 1000;
  return Object.keys(q).length ? q : null;
}

try {
  // 1. One argon2id verification (same parameters, in this process) and one sign-in through
  // the gateway, alternately, so both see the same machine.
  const phc = await hash(PASSWORD, ARGON2ID_OPTIONS);
  await verify(phc, PASSWORD);
  const timedHash = async () => {
    const t0 = process.hrtime.bigint();
    if (!(await verify(phc, PASSWORD))) throw new Error('argon2 verify failed');
    return ms(process.hrtime.bigint() - t0);
  };
  const upstream = (await startChild(['bench/servers.mjs', 'upstream'])).url;
  const eldFile = join(tempDir(), 'eld.json');
  const routes = { demo: false, routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required' }] };
  // --max-hashes N: password.maxConcurrentHashes of the gateway process (else its default).
  if (values['max-hashes']) routes.password = { maxConcurrentHashes: Number(values['max-hashes']) };
  // --hash-nice N: password.hashNice (0 = hashing threads at the priority of request handling).
  if (values['hash-nice']) routes.password = { ...routes.password, hashNice: Number(values['hash-nice']) };
  const gw = await startChild(['--import', join(root, 'bench/eld-probe.mjs'), CLI, 'start', '--port', '0'], { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: writeConfig(routes), GATEHOUSE_BENCH_ELD_FILE: eldFile }, /is up at (http:\/\/\S+)/);
  const base = gw.url;
  await signUp(base, 'bench-user');
  // One account per burst client: the per-account budget reserves an attempt per sign-in in
  // flight (DESIGN §3), so parallel sign-ins of one account would be refused 429 by design.
  for (let i = 0; i < BURST; i++) await signUp(base, `burst-${i}`);
  for (let i = 0; i < 3; i++) await timedSignIn(base, 'bench-user'); // warm-up
  /** SIGNINS sequential sign-ins, each right after one hash in this process. */
  const pairedSignins = async () => {
    const hashes = [];
    const signins = [];
    const extra = [];
    const cpu0 = threadCpuNs(gw.proc.pid);
    for (let i = 0; i < SIGNINS; i++) {
      const h = await timedHash();
      const t = await timedSignIn(base, 'bench-user');
      hashes.push(h);
      signins.push(t);
      extra.push(t - h);
    }
    const cpu1 = threadCpuNs(gw.proc.pid);
    const cpu = cpu0 && cpu1 ? { main: (cpu1.main - cpu0.main) / SIGNINS / 1e6, other: (cpu1.all - cpu1.main - (cpu0.all - cpu0.main)) / SIGNINS / 1e6 } : null;
    return { a: quantiles(hashes), s: quantiles(signins), x: quantiles(extra), cpu };
  };
  const { a, s, x, cpu } = await pairedSignins();

  // 1b. The same while the gateway also serves a light stream of signed-in traffic (1 connection,
  // 1 000 req/s), as a gateway in service does. On this VM small work that follows a pause the
  // length of a hash runs several times slower (bench/interval-penalty.mjs), so both figures
  // carry some of that.
  const light = await signIn(base, 'bench-user');
  const background = autocannon({ url: `${base}/api/bench`, connections: 1, overallRate: 1000, duration: 3600, headers: { cookie: light.cookie } });
  await sleep(500);
  const { s: sb, x: xb } = await pairedSignins();
  background.stop();

  // 2. Authenticated traffic alone vs. during a sign-in burst.
  const { cookie } = await signIn(base, 'bench-user');
  const url = `${base}/api/bench`;
  const probe = async () => {
    gw.proc.kill('SIGUSR2');
    for (let i = 0; i < 100; i++) {
      await sleep(10);
      try {
        const v = JSON.parse(readFileSync(eldFile, 'utf8'));
        return v;
      } catch {
        // not written yet
      }
    }
    return null;
  };
  const resetProbe = async () => {
    await probe();
    await metricsEld(base).catch(() => null); // a scrape resets the gateway's own window too
  };
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers: { cookie } }); // warm-up
  const results = { alone: [], burst: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 ? ['burst', 'alone'] : ['alone', 'burst']) {
      await resetProbe();
      let stop = false;
      const burstLat = [];
      let burstError = null;
      const workers =
        mode === 'burst'
          ? Array.from({ length: BURST }, async (_, i) => {
              try {
                while (!stop) burstLat.push(await timedSignIn(base, `burst-${i}`));
              } catch (err) {
                burstError ??= err;
              }
            })
          : [];
      const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers: { cookie } });
      stop = true;
      const eld = await probe();
      const own = await metricsEld(base).catch(() => null);
      await Promise.all(workers);
      if (r.non2xx || r.errors) throw new Error(`${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      if (burstError) throw burstError;
      results[mode].push({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, eld, own, signins: burstLat.length, signinP50: burstLat.length ? quantiles(burstLat).p50 : undefined });
      console.log(
        `round ${round + 1} ${mode.padEnd(5)} ${Math.round(r.requests.average)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  event-loop delay p99 ${f(eld?.p99)} ms max ${f(eld?.max)} ms` +
          (own ? `  (/metrics p99 ${f(own['0.99'])} ms)` : '') +
          (mode === 'burst' ? `  ${burstLat.length} sign-ins, p50 ${f(quantiles(burstLat).p50)} ms` : ''),
      );
    }
  }

  const med = (list, pick) => {
    const v = list.map(pick).filter((x) => typeof x === 'number').sort((x, y) => x - y);
    return v.length ? v[Math.floor(v.length / 2)] : undefined;
  };
  console.log('');
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}; argon2id m=${ARGON2ID_OPTIONS.memoryCost} KiB t=${ARGON2ID_OPTIONS.timeCost} p=${ARGON2ID_OPTIONS.parallelism}; ${new Date().toISOString()}`);
  console.log('');
  console.log('| sequential, n = ' + SIGNINS + ' | p50 ms | p90 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| one argon2id verify (@node-rs/argon2, in process) | ${f(a.p50)} | ${f(a.p90)} | ${f(a.p99)} |`);
  console.log(`| POST /auth/signin through the gateway | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} |`);
  console.log(`| **sign-in minus one hash** (each sign-in minus the hash just before it; goal < 2 ms) | **${f(x.p50)}** | ${f(x.p90)} | ${f(x.p99)} |`);
  if (cpu) {
    console.log(`| gateway process CPU per sign-in: main thread (the event loop; everything but the hash), mean | ${f(cpu.main)} | | |`);
    console.log(`| gateway process CPU per sign-in: other threads (the argon2id hash, V8's helpers), mean | ${f(cpu.other)} | | |`);
  }
  console.log(`| POST /auth/signin, gateway also serving 1 000 req/s of signed-in traffic | ${f(sb.p50)} | ${f(sb.p90)} | ${f(sb.p99)} |`);
  console.log(`| **sign-in minus one hash**, gateway also serving 1 000 req/s | **${f(xb.p50)}** | ${f(xb.p90)} | ${f(xb.p99)} |`);
  console.log('');
  console.log(`| authenticated cookie traffic (${CONNECTIONS} connections, ${ROUNDS} x ${DURATION} s each) | req/s | client p50 ms | client p99 ms | event-loop delay p50 ms | **p99 ms** (goal < 5) | max ms | sign-ins done (p50 ms) |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of ['alone', 'burst']) {
    const l = results[mode];
    const signinsDone = mode === 'burst' ? `${l.reduce((x, r) => x + r.signins, 0)} (${f(med(l, (r) => r.signinP50))})` : '—';
    console.log(
      `| ${mode === 'alone' ? 'alone' : `during a sign-in burst (${BURST} clients signing in back to back)`} | ${Math.round(med(l, (r) => r.rps))} | ${med(l, (r) => r.p50)} | ${med(l, (r) => r.p99)} | ${f(med(l, (r) => r.eld?.p50))} | **${f(med(l, (r) => r.eld?.p99))}** | ${f(med(l, (r) => r.eld?.max))} | ${signinsDone} |`,
    );
  }
  console.log('');
  console.log('(medians over rounds; event-loop delay of the `gatehouse start` process, measured in it by bench/eld-probe.mjs)');
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
