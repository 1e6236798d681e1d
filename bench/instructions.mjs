#!/usr/bin/env node
// Instructions per proxied request, counted by valgrind's callgrind: the bare proxy hop and
// `gatehouse start` (session cookie), and with --baseline-cli the same cookie target on another
// build. Unlike req/s and CPU time, an instruction count does not move with what else the machine
// is doing, so it settles a before/after of a few percent that the noise of a shared 2-vCPU box
// hides (bench/compare.mjs). It counts user space only: the kernel's share (the same four
// syscalls per request for every target, strace -c) is left out, which pulls a CPU-time ratio
// toward 1; cycles per instruction may differ between targets (cache misses, a bigger heap), so
// the ratio is an estimate of the CPU-time ratio, not a bound on it.
//
// Each target runs under callgrind (about 50x slower), gets WARMUP batches of REQUESTS requests
// (8 connections, 127.0.0.1), then RUNS measured batches: counters zeroed before, dumped after
// (callgrind_control). Counted per thread (--separate-threads): the main thread carries the
// request path; the JIT compiler and GC helper threads land at random, so they are shown apart,
// as an all-threads total. Prints every batch and the medians per target. Needs valgrind on
// PATH (Debian: apt-get install valgrind) and `npm run build`. Bounded: ~5 min, ~8 min with --baseline-cli.
// Then, on each Gatehouse target, SIGNIN_ROUNDS rounds of --signins sequential sign-ins: main-
// thread instructions per sign-in (everything but the argon2id hash, which runs on a thread of its
// own), to set against the same count for a proxied request; --signins 0 skips them.
// --cache-sim adds callgrind's cache simulation and an estimate of cycles (misses weighted), for
// the question an instruction count leaves open: do the targets differ in cost per instruction?
// (about twice as slow.)
// --credential picks what the Gatehouse targets' requests carry: cookie (a session cookie, the
// default), access_token (a bearer JWT from the password grant), api_token (a bearer gh_… API
// token) or client_token (a service's bearer JWT from the client_credentials grant: the client is
// registered with `gatehouse clients add` before the start, and the route names it in `clients`);
// the bare hop gets the same header and ignores it. --credential all measures every kind in one
// run: one bare hop, and for each kind in turn a fresh Gatehouse target (and baseline) measured
// beside it (the bare hop measured again with that kind's header); sign-ins only with the cookie;
// then a summary table of every kind (~12 min, ~15 min with --baseline-cli).
// Each target's table also shows what the main thread ran in libuv's timer phase during the
// batches (the revocation-log poll, connection checks, the event-loop delay monitor: work per
// second, not per request, that weighs ~50x more per request under callgrind, and more on a
// loaded box) and the count and ratio without it.
// --keep DIR copies the callgrind dumps (cg.<label>.<pid>.<dump>-<thread>) to DIR, for
// callgrind_annotate (JIT-compiled JavaScript has no symbols; V8's builtins and C++ do).
//   node bench/instructions.mjs [--credential cookie|access_token|api_token|client_token|all] [--requests 4000] [--runs 5] [--warmup 3] [--signins 20] [--cache-sim] [--node-flags=--no-memory-reducer] [--keep DIR] [--baseline-cli <other build>/packages/server/dist/cli/main.js]
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, cleanup, median, PASSWORD, signIn, signInOnce, signUp, startChild, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '4000' },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '3' },
    'baseline-cli': { type: 'string' },
    signins: { type: 'string', default: '20' },
    'cache-sim': { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '--no-memory-reducer' },
    credential: { type: 'string', default: 'cookie' },
    keep: { type: 'string' },
  },
});
const REQUESTS = Math.max(500, Math.min(Number(values.requests), 20_000));
const RUNS = Math.max(1, Math.min(Number(values.runs), 20));
const WARMUP = Math.max(1, Math.min(Number(values.warmup), 20));
const SIGNINS = Math.max(0, Math.min(Number(values.signins), 100));
const SIGNIN_ROUNDS = 3;
const CACHE_SIM = values['cache-sim'];
const CREDENTIAL = values.credential;
const KINDS = ['cookie', 'access_token', 'api_token', 'client_token'];
if (![...KINDS, 'all'].includes(CREDENTIAL)) {
  console.error(`--credential must be cookie, access_token, api_token, client_token or all (got ${CREDENTIAL})`);
  process.exit(2);
}
/** The kinds this run measures, in order. */
const kinds = CREDENTIAL === 'all' ? KINDS : [CREDENTIAL];
/** The client of the client_token kind, and its scope. */
const CLIENT_ID = 'bench-svc';
/**
 * node/V8 flags for every target, the same for all. By default --no-memory-reducer: V8 runs
 * memory-reducing full GCs when the allocation rate looks idle, which under valgrind (~50x
 * slower) it always does; at full speed under load it does not (--trace-gc, 150 000 cookie
 * requests in 15 s: 179 scavenges and no full GC of the main heap). Left on, it adds ≈ 4 k
 * instructions per request to Gatehouse's bigger heap and nothing to the bare hop's. Pass
 * --node-flags= (empty) to count with it.
 */
const NODE_FLAGS = values['node-flags'].split(' ').filter(Boolean);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('instructions.mjs needs valgrind and callgrind_control on PATH (Debian: apt-get install valgrind).');
  process.exit(2);
}

const watchdog = setTimeout(
  () => {
    console.error('instructions.mjs: over its time budget; stopping');
    void cleanup().then(() => process.exit(1));
  },
  (90 * kinds.length + (WARMUP + RUNS) * Math.ceil(REQUESTS / 100) * kinds.length + SIGNIN_ROUNDS * SIGNINS * 3) * (CACHE_SIM ? 12 : 6) * 1000,
);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const outDir = tempDir();
/** Starts `args` under callgrind; its dumps go to outDir as cg.<label>.<pid>.<dump>-<thread>. */
const underCallgrind = (label, args, env, pattern) =>
  startChild([...NODE_FLAGS, ...args], env, pattern, {
    wrap: ['valgrind', '--tool=callgrind', '--separate-threads=yes', ...(CACHE_SIM ? ['--cache-sim=yes'] : []), `--callgrind-out-file=${join(outDir, `cg.${label}.%p`)}`],
    timeoutMs: 600_000,
  });

/**
 * What one callgrind file counted: instructions (Ir), and with --cache-sim an estimate of cycles
 * from callgrind's simulated caches, weighted as its manual suggests: Ir + 10 × L1 misses
 * + 100 × last-level misses (instruction and data, reads and writes).
 */
function costs(file) {
  const text = readFileSync(join(outDir, file), 'utf8');
  const events = /^events: (.+)$/m.exec(text)?.[1].trim().split(/\s+/);
  const totals = /^totals: (.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
  if (!events || !totals) throw new Error(`callgrind dump ${file} has no events or totals`);
  const ev = (name) => totals[events.indexOf(name)] ?? 0;
  const ir = ev('Ir');
  const cycles = ir + 10 * (ev('I1mr') + ev('D1mr') + ev('D1mw')) + 100 * (ev('ILmr') + ev('DLmr') + ev('DLmw'));
  return { ir, cycles };
}

/**
 * Instructions the main thread spent in libuv's timer phase (JS timers: the revocation-log poll,
 * connection checks, ...; the event-loop delay monitor) in one dump, from callgrind_annotate's
 * inclusive cost of uv__run_timers: work done per second, not per request, which weighs ~50x more
 * per request under callgrind's slowdown than at full speed, and more on a loaded box.
 */
function timerPhase(file) {
  try {
    const out = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', join(outDir, file)], { encoding: 'utf8', maxBuffer: 256 << 20 });
    const m = /^\s*([\d,]+)\s+\([^)]*\)\s+\S*:uv__run_timers \[/m.exec(out);
    return m ? Number(m[1].replaceAll(',', '')) : 0;
  } catch {
    return 0;
  }
}

/** Counts of dump number `n` of `child`: its main thread, all its threads, and its busiest other thread. */
function instructions(label, pid, n) {
  const prefix = `cg.${label}.${pid}.${n}-`;
  const files = readdirSync(outDir).filter((f) => f.startsWith(prefix));
  if (!files.includes(`${prefix}01`)) throw new Error(`no callgrind dump ${n} for ${label}`);
  let main = 0;
  let mainCycles = 0;
  let all = 0;
  let busiestOther = 0;
  for (const f of files) {
    const c = costs(f);
    all += c.ir;
    if (f === `${prefix}01`) {
      main = c.ir;
      mainCycles = c.cycles;
    } else busiestOther = Math.max(busiestOther, c.ir);
  }
  return { main, mainCycles, all, busiestOther };
}

/**
 * Measures target `t`: WARMUP batches, then RUNS batches between a zero and a dump of its
 * counters; then, with `signins`, the sequential sign-ins. `t.child.dumps` counts the dumps of
 * its process so far (the bare hop is measured once per kind); a target with `stop` is killed after.
 */
async function measure(t, signins) {
  const pid = t.child.proc.pid;
  const dump = () => {
    execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
    t.child.dumps = (t.child.dumps ?? 0) + 1;
    return instructions(t.label, pid, t.child.dumps);
  };
  const batch = async () => {
    const run = autocannon({ url: t.url, connections: 8, amount: REQUESTS, headers: t.headers, timeout: 60 });
    let firstError;
    run.on('reqError', (err) => (firstError ??= err));
    const r = await run;
    if (r.non2xx || r.errors) throw new Error(`${t.name}: ${r.non2xx} non-2xx, ${r.errors} errors (first: ${firstError?.code ?? firstError?.message ?? 'none'})`);
  };
  for (let i = 0; i < WARMUP; i++) await batch();
  const main = [];
  const all = [];
  const cycles = [];
  const background = [];
  for (let i = 1; i <= RUNS; i++) {
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    await batch();
    const n = dump();
    main.push(n.main / REQUESTS);
    all.push(n.all / REQUESTS);
    cycles.push(n.mainCycles / REQUESTS);
    background.push(timerPhase(`cg.${t.label}.${pid}.${t.child.dumps}-01`) / REQUESTS);
  }
  // Sequential sign-ins (a Gatehouse target): the main thread runs everything but the argon2id
  // hash, which runs on a hashing thread of its own (the busiest other thread).
  const signin = { main: [], hash: [], cycles: [] };
  if (signins && t.base !== undefined && SIGNINS > 0) {
    const body = JSON.stringify({ username: 'bench-user', password: PASSWORD });
    for (let i = 0; i < 10; i++) await signInOnce(t.base, body); // warm-up (the JIT)
    for (let round = 1; round <= SIGNIN_ROUNDS; round++) {
      execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
      for (let i = 0; i < SIGNINS; i++) await signInOnce(t.base, body);
      const n = dump();
      signin.main.push(n.main / SIGNINS);
      signin.hash.push(n.busiestOther / SIGNINS);
      signin.cycles.push(n.mainCycles / SIGNINS);
    }
  }
  if (t.stop) await t.child.stop('SIGKILL');
  return { main, all, cycles, signin, background };
}

const k = (x) => `${(x / 1000).toFixed(1)}k`;
/** Each batch's main-thread count less its timer phase. */
const net = (r) => r.main.map((m, i) => m - r.background[i]);
const KIND_NAMES = { cookie: 'session cookie', access_token: 'bearer access token', api_token: 'bearer API token', client_token: 'bearer client token (client_credentials)' };

/** The tables of one kind: every target's batches and medians, bare ÷ target; then sign-ins. */
function report(kind, targets, results) {
  const bareMain = median(results[0].main);
  const bareAll = median(results[0].all);
  console.log('');
  console.log(`### ${KIND_NAMES[kind]}`);
  console.log('');
  const bareNet = median(net(results[0]));
  console.log('| target | main thread, each batch | main thread, median | ÷ bare hop (bare ÷ target) | all threads, median | ÷ bare hop | of which timer phase, median | main thread less timer phase, median | ÷ bare hop |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  targets.forEach((t, i) => {
    const m = median(results[i].main);
    const a = median(results[i].all);
    const n = median(net(results[i]));
    console.log(`| ${t.name} | ${results[i].main.map(k).join(' ')} | ${k(m)} | ${(bareMain / m).toFixed(3)} | ${k(a)} | ${(bareAll / a).toFixed(3)} | ${k(median(results[i].background))} | ${k(n)} | ${(bareNet / n).toFixed(3)} |`);
  });
  if (CACHE_SIM) {
    const bareCycles = median(results[0].cycles);
    console.log('');
    console.log('| target | estimated cycles per request, main thread (Ir + 10 × L1 misses + 100 × LL misses), each batch | median | ÷ bare hop (bare ÷ target) |');
    console.log('| --- | --- | ---: | ---: |');
    targets.forEach((t, i) => {
      const c = median(results[i].cycles);
      console.log(`| ${t.name} | ${results[i].cycles.map(k).join(' ')} | ${k(c)} | ${(bareCycles / c).toFixed(3)} |`);
    });
  }
  if (results.some((r) => r.signin.main.length > 0)) {
    console.log('');
    console.log(`| sequential sign-ins (${SIGNIN_ROUNDS} rounds of ${SIGNINS}) | main thread per sign-in, each round | median | × a proxied ${kind.replace('_', ' ')} request (main thread) | hashing thread per sign-in, median |${CACHE_SIM ? ' estimated cycles, main thread, median | × a proxied request |' : ''}`);
    console.log(`| --- | --- | ---: | ---: | ---: |${CACHE_SIM ? ' ---: | ---: |' : ''}`);
    targets.forEach((t, i) => {
      const s = results[i].signin;
      if (s.main.length === 0) return;
      const m = median(s.main);
      const c = CACHE_SIM ? ` ${k(median(s.cycles))} | ${(median(s.cycles) / median(results[i].cycles)).toFixed(1)} |` : '';
      console.log(`| ${t.name} | ${s.main.map(k).join(' ')} | ${k(m)} | ${(m / median(results[i].main)).toFixed(1)} | ${k(median(s.hash))} |${c}`);
    });
  }
}

try {
  const upstream = (await startChild(['bench/servers.mjs', 'upstream'])).url;
  /**
   * A Gatehouse target of `cli` on a data directory of its own, signed up, with the header of
   * `kind`. Tokens live an hour here: under callgrind a run can outlast the default ten minutes.
   * For client_token the client is registered first (the CLI, as an operator would) and the
   * route names it.
   */
  const gatehouse = async (kind, name, label, cli) => {
    const dataDir = tempDir();
    const routes = {
      demo: false,
      routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required', ...(kind === 'client_token' ? { clients: [CLIENT_ID] } : {}) }],
      ...(kind === 'access_token' ? { tokens: { accessTokenTtlSec: 3600 } } : kind === 'client_token' ? { tokens: { clientCredentialsTtlSec: 3600 } } : {}),
    };
    const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: writeConfig(routes) };
    let secret;
    if (kind === 'client_token') {
      const add = await startChild([cli, 'clients', 'add', CLIENT_ID, '--name', 'Bench service', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], env, /^(ghc_[0-9A-Za-z]{49})$/m);
      secret = add.url;
      await add.stop();
    }
    const child = await underCallgrind(label, [cli, 'start', '--port', '0'], env, /is up at (http:\/\/\S+)/);
    await signUp(child.url, 'bench-user');
    return { name, label, child, base: child.url, url: `${child.url}/api/bench`, headers: await credentialHeaders(kind, child.url, secret), stop: true };
  };
  /** The header every request of a Gatehouse target carries for `kind`. */
  const credentialHeaders = async (kind, base, secret) => {
    const token = async (params, authorization) => {
      const r = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) }, body: new URLSearchParams(params).toString() });
      if (r.status !== 200) throw new Error(`${params.grant_type} grant: ${r.status} ${await r.text()}`);
      return { authorization: `Bearer ${(await r.json()).access_token}` };
    };
    if (kind === 'access_token') return token({ grant_type: 'password', username: 'bench-user', password: PASSWORD, device_id: 'bench-at' });
    if (kind === 'client_token') return token({ grant_type: 'client_credentials' }, `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}`);
    const s = await signIn(base, 'bench-user');
    if (kind === 'cookie') return { cookie: s.cookie };
    const r = await fetch(`${base}/auth/api-tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf }, body: JSON.stringify({ name: 'bench' }) });
    if (r.status !== 201 && r.status !== 200) throw new Error(`API token: ${r.status} ${await r.text()}`);
    return { authorization: `Bearer ${(await r.json()).token}` };
  };
  // Started one after the other (valgrind start-up is CPU-bound), measured side by side: the
  // counts do not depend on the machine's load.
  const bare = await underCallgrind('bare', ['bench/servers.mjs', 'bare-proxy', upstream], {});
  console.log(`${REQUESTS} requests per batch, ${WARMUP} warm-up + ${RUNS} measured batches per target, 8 connections; instructions per request`);
  const summary = [];
  for (const kind of kinds) {
    const g = await gatehouse(kind, `(3) Gatehouse embedded, ${KIND_NAMES[kind]}`, `gh-${kind}`, CLI);
    const targets = [{ name: '(1) bare proxy hop', label: 'bare', child: bare, url: `${bare.url}/api/bench`, headers: g.headers }, g];
    if (values['baseline-cli']) targets.push(await gatehouse(kind, '(3′) the same, --baseline-cli build', `before-${kind}`, values['baseline-cli']));
    const results = await Promise.all(targets.map((t) => measure(t, kind === 'cookie' || kinds.length === 1)));
    report(kind, targets, results);
    summary.push({ kind, medians: results.map((r) => median(r.main)), nets: results.map((r) => median(net(r))) });
  }
  console.log('');
  console.log('Main thread: the request path. All threads adds the JIT compiler and GC helper threads (what the request path left them to do; noisier).');
  console.log('Timer phase: what the main thread ran in libuv\'s timer phase during the batch (callgrind_annotate, inclusive uv__run_timers), per request: work done per second, not per request, which callgrind\'s slowdown (and a loaded box) puts into the count; subtracted only in the columns that say so.');
  if (kinds.length > 1) {
    console.log('');
    console.log('### Every credential kind (main thread, median instructions per request)');
    console.log('');
    const before = values['baseline-cli'] ? ' | --baseline-cli build | bare ÷ baseline |' : ' |';
    console.log(`| credential | bare hop | Gatehouse | bare ÷ Gatehouse${before} less timer phase: bare ÷ Gatehouse |${values['baseline-cli'] ? ' bare ÷ baseline |' : ''}`);
    console.log(`| --- | ---: | ---: | ---: |${values['baseline-cli'] ? ' ---: | ---: |' : ''} ---: |${values['baseline-cli'] ? ' ---: |' : ''}`);
    for (const { kind, medians: [b, g, o], nets: [nb, ng, no] } of summary) {
      const baseline = o !== undefined ? ` | ${k(o)} | ${(b / o).toFixed(3)}` : '';
      console.log(`| ${KIND_NAMES[kind]} | ${k(b)} | ${k(g)} | ${(b / g).toFixed(3)}${baseline} | ${(nb / ng).toFixed(3)} |${no !== undefined ? ` ${(nb / no).toFixed(3)} |` : ''}`);
    }
  }
  if (SIGNINS > 0 && kinds.includes('cookie')) {
    console.log('');
    console.log('A sign-in\'s main thread runs everything but the argon2id hash (gateway, hop to the auth service, checks, session and audit writes, cookies, reply).');
  }
} finally {
  if (values.keep) cpSync(outDir, values.keep, { recursive: true });
  await cleanup();
}
