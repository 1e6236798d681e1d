#!/usr/bin/env node
// Instructions per token grant (issue 19), counted by valgrind's callgrind: client_credentials
// (HTTP Basic) and refresh_token grants through `gatehouse start` on embedded SQLite, and with
// --baseline-cli the same on another build, measured side by side. Like bench/instructions.mjs
// for proxied requests, a count does not move with what else the machine is doing, so it settles
// a before/after that token-storm's ops per CPU-second on a loaded 2-vCPU box cannot.
// Counted per thread (--separate-threads): "main" is the event loop; "all" adds every other
// thread (libuv's pool, where webcrypto signs, the JIT compiler, GC helpers). User space only:
// the kernel's share (socket writes, futex and epoll wake-ups) is left out, and so is what a hand-off
// between threads costs beyond its instructions (cache misses, scheduling): moving work from
// libuv's pool onto the event loop (node:crypto signing, issue 19) shows here as main-thread
// instructions up and all threads about even, while token-storm's CPU per grant goes down.
// The JIT is still settling over the first batches: raise --warmup for small differences. Each target: --warmup batches, then --runs
// batches of --grants grants each (8 in flight, 127.0.0.1) between a zero and a dump of its
// counters; refresh grants rotate the tokens of --devices device sessions (password grant), each
// refreshed by one worker in turn, as devices do. Prints every batch and the medians.
// Needs valgrind on PATH and `npm run build`. Bounded: ~15 min with --baseline-cli on a loaded 2-core box.
// --keep DIR keeps the dumps (cg.<this|base>.<pid>.<dump>-<thread>) for bench/callgrind-js.mjs, with
// --node-flags="--no-memory-reducer --perf-basic-prof" so it can name the JIT code (--per = --grants).
//   node bench/grant-instructions.mjs [--kind client_credentials|refresh_token|both] [--grants 500] [--runs 3] [--warmup 4] [--devices 8] [--node-flags=--no-memory-reducer] [--keep DIR] [--baseline-cli <other build>/packages/server/dist/cli/main.js]
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { CLI, cleanup, median, PASSWORD, signUp, startChild, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    grants: { type: 'string', default: '500' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '4' },
    devices: { type: 'string', default: '8' },
    'baseline-cli': { type: 'string' },
    'node-flags': { type: 'string', default: '--no-memory-reducer' },
    keep: { type: 'string' },
    kind: { type: 'string', default: 'both' },
  },
});
const NODE_FLAGS = values['node-flags'].split(' ').filter(Boolean);
const GRANTS = Math.max(100, Math.min(Number(values.grants), 10_000));
const RUNS = Math.max(1, Math.min(Number(values.runs), 10));
const WARMUP = Math.max(1, Math.min(Number(values.warmup), 10));
const DEVICES = Math.max(1, Math.min(Number(values.devices), 64));
const IN_FLIGHT = Math.min(8, DEVICES);
const CLIENT_ID = 'grant-bench';
const form = { 'content-type': 'application/x-www-form-urlencoded' };

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('grant-instructions.mjs needs valgrind and callgrind_control on PATH (Debian: apt-get install valgrind).');
  process.exit(2);
}

const targetsCount = values['baseline-cli'] ? 2 : 1;
const watchdog = setTimeout(
  () => {
    console.error('grant-instructions.mjs: over its time budget; stopping');
    void cleanup().then(() => process.exit(1));
  },
  (240 + 2 * (WARMUP + RUNS) * Math.ceil(GRANTS / 10) * targetsCount) * 1000,
);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().then(() => process.exit(130)));

const outDir = tempDir();

/** Instructions of dump `n` of `label`/`pid`: its main thread and all its threads. */
function counted(label, pid, n) {
  const prefix = `cg.${label}.${pid}.${n}-`;
  const files = readdirSync(outDir).filter((f) => f.startsWith(prefix));
  if (!files.includes(`${prefix}01`)) throw new Error(`no callgrind dump ${n} for ${label}`);
  let main = 0;
  let all = 0;
  for (const f of files) {
    const text = readFileSync(join(outDir, f), 'utf8');
    const events = /^events: (.+)$/m.exec(text)?.[1].trim().split(/\s+/);
    const totals = /^totals: (.+)$/m.exec(text)?.[1].trim().split(/\s+/).map(Number);
    if (!events || !totals) throw new Error(`callgrind dump ${f} has no events or totals`);
    const ir = totals[events.indexOf('Ir')] ?? 0;
    all += ir;
    if (f === `${prefix}01`) main = ir;
  }
  return { main, all };
}

async function token(pool, params, headers = {}) {
  const r = await pool.request({ path: '/auth/token', method: 'POST', headers: { ...form, ...headers }, body: new URLSearchParams(params).toString() });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`${params.grant_type}: ${r.statusCode} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** `gatehouse start` of `cli` under callgrind on a data directory of its own, with the client registered and DEVICES device sessions. */
async function target(name, label, cli) {
  const env = { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: writeConfig({ demo: false, tokens: { clientCredentialsTtlSec: 3600, accessTokenTtlSec: 3600 } }) };
  const add = await startChild([cli, 'clients', 'add', CLIENT_ID, '--name', 'Grant bench', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], env, /^(ghc_[0-9A-Za-z]{49})$/m);
  const secret = add.url;
  await add.stop();
  const child = await startChild([...NODE_FLAGS, cli, 'start', '--port', '0'], env, /is up at (http:\/\/\S+)/, {
    wrap: ['valgrind', '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(outDir, `cg.${label}.%p`)}`],
    timeoutMs: 600_000,
  });
  await signUp(child.url, 'grant-user');
  const pool = new Pool(child.url, { connections: IN_FLIGHT, pipelining: 1 });
  const refresh = [];
  for (let d = 0; d < DEVICES; d++) refresh.push((await token(pool, { grant_type: 'password', username: 'grant-user', password: PASSWORD, device_id: `grant-bench-${d}` })).refresh_token);
  return { name, label, child, pool, refresh, basic: `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}`, dumps: 0 };
}

/** GRANTS grants of `kind`, IN_FLIGHT at a time (each worker owns DEVICES / IN_FLIGHT devices for refresh). */
async function batch(t, kind) {
  let left = GRANTS;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, w) => {
      for (let i = 0; left > 0; i++) {
        left--;
        if (kind === 'client_credentials') {
          await token(t.pool, { grant_type: 'client_credentials' }, { authorization: t.basic });
        } else {
          const d = w + IN_FLIGHT * (i % Math.ceil((DEVICES - w) / IN_FLIGHT));
          t.refresh[d] = (await token(t.pool, { grant_type: 'refresh_token', refresh_token: t.refresh[d] })).refresh_token;
        }
      }
    }),
  );
}

async function measure(t, kind) {
  const pid = t.child.proc.pid;
  for (let i = 0; i < WARMUP; i++) await batch(t, kind);
  const main = [];
  const all = [];
  for (let i = 0; i < RUNS; i++) {
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    await batch(t, kind);
    execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
    const n = counted(t.label, pid, ++t.dumps);
    main.push(n.main / GRANTS);
    all.push(n.all / GRANTS);
  }
  return { main, all };
}

const k = (x) => `${(x / 1000).toFixed(1)}k`;
try {
  const targets = [await target('this build', 'this', CLI)];
  if (values['baseline-cli']) targets.push(await target('--baseline-cli build', 'base', values['baseline-cli']));
  console.log(`${GRANTS} grants per batch, ${WARMUP} warm-up + ${RUNS} measured batches per target, ${IN_FLIGHT} in flight, ${DEVICES} devices; instructions per grant (main thread / all threads)`);
  for (const kind of values.kind === 'both' ? ['client_credentials', 'refresh_token'] : [values.kind]) {
    const results = await Promise.all(targets.map((t) => measure(t, kind)));
    console.log(`\n### ${kind}\n`);
    console.log('| target | batches: main / all | median main | median all |');
    console.log('| --- | --- | ---: | ---: |');
    targets.forEach((t, i) => {
      const r = results[i];
      console.log(`| ${t.name} | ${r.main.map((m, j) => `${k(m)} / ${k(r.all[j])}`).join(', ')} | ${k(median(r.main))} | ${k(median(r.all))} |`);
    });
    if (targets.length === 2) {
      const [a, b] = results;
      console.log(`\nthis ÷ baseline: main ${(median(a.main) / median(b.main)).toFixed(3)}, all threads ${(median(a.all) / median(b.all)).toFixed(3)}`);
    }
  }
  for (const t of targets) await t.pool.close();
  if (values.keep) cpSync(outDir, values.keep, { recursive: true });
} finally {
  await cleanup();
}
