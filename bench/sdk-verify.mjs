#!/usr/bin/env node
// SDK passport verifications per second, with and without its verified-token cache, vs. a raw
// node:crypto Ed25519 verify of the same bytes. In process, no network; bounded by time:
// ROUNDS x variants x DURATION seconds (at most 10 x 4 x 10 s). Prints each variant's mean and its
// ratio to raw, and the ratio sdk-no-cache ÷ raw of each round (the variants interleave, so a
// round's ratio is the fairest on a busy box). Needs `npm run build` (or `npx tsc -b packages/sdk`).
//   node bench/sdk-verify.mjs [--duration 2] [--rounds 3] [--baseline-sdk <other tree>/packages/sdk/dist/index.js]
// --baseline-sdk adds "baseline sdk, no cache": another build of the SDK (e.g. a worktree of the
// commit before) verifying the same passport in the same run, for a before/after on one box.
// --instructions counts instructions instead of time (valgrind's callgrind, user space, main
// thread and all threads; about 5 min): each variant in a child of its own under callgrind, warmed up, then
// --count verifications between a zeroing and a dump of the counters (callgrind_control), as
// bench/instructions.mjs counts requests. A count does not move with the load of the box.
//   node bench/sdk-verify.mjs --instructions [--count 1000] [--baseline-sdk ...]
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { SignJWT, exportJWK } from 'jose';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'baseline-sdk': { type: 'string' },
    instructions: { type: 'boolean', default: false },
    count: { type: 'string', default: '1000' },
    child: { type: 'string' },
  },
});
const DURATION_MS = Math.min(Number(values.duration), 10) * 1000;
const ROUNDS = Math.min(Number(values.rounds), 10);
const COUNT = Math.max(100, Math.min(Number(values.count), 20_000));
/** Verifications before counting, so that V8 has compiled the path (TurboFan) and stopped compiling it. */
const WARMUP = 3000;
const ISSUER = 'http://127.0.0.1:8080';
const RAW = 'raw node:crypto Ed25519 verify';
const NO_CACHE = 'sdk, no cache (cacheMax 0)';
const BASELINE = 'baseline sdk, no cache';

/** The variants: [name, fn, isAsync]; the same key, passport and options for every SDK build. */
async function setUp() {
  const sdk = await import('../packages/sdk/dist/index.js');
  const baseline = values['baseline-sdk'] ? await import(pathToFileURL(resolve(values['baseline-sdk'])).href) : undefined;
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' }] };
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sub: 'u1', username: 'bench-user', roles: ['staff'], sid: 's1', did: 'd1', auth: 'session', jti: 'j1' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'passport+jwt', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience('bench')
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
  const options = { jwks: () => jwks, issuer: ISSUER, audience: 'bench', maxTokenAgeSec: 3600 };
  const cached = sdk.createPassportVerifier(options);
  const uncached = sdk.createPassportVerifier({ ...options, cacheMax: 0 });
  const dot = token.lastIndexOf('.');
  const data = Buffer.from(token.slice(0, dot));
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const key = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
  const variants = [
    ['sdk, verified-token cache', () => cached.verify(token), true],
    [NO_CACHE, () => uncached.verify(token), true],
  ];
  if (baseline !== undefined) {
    const before = baseline.createPassportVerifier({ ...options, cacheMax: 0 });
    variants.push([BASELINE, () => before.verify(token), true]);
  }
  variants.push([RAW, () => verify(null, data, key, sig), false]);
  // Sanity and warm-up.
  for (const [, fn, isAsync] of variants) {
    const r = await fn();
    if (isAsync ? r.sub !== 'u1' : !r) throw new Error('verification failed');
  }
  return variants;
}

/** Runs `fn` `n` times back to back. */
async function repeat(fn, isAsync, n) {
  for (let i = 0; i < n; i++) {
    if (isAsync) await fn();
    else if (!fn()) throw new Error('raw verify failed');
  }
}

/**
 * Runs `fn` back to back for DURATION_MS; returns operations per second of wall-clock time, and
 * CPU time per operation in µs (process.cpuUsage: user + system, all threads, so the thread pool
 * that jose's WebCrypto verify runs on counts too; less moved by other work on the box).
 */
async function measure(fn, isAsync) {
  let n = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let elapsed = 0;
  do {
    await repeat(fn, isAsync, 256);
    n += 256;
    elapsed = performance.now() - start;
  } while (elapsed < DURATION_MS);
  const cpu = process.cpuUsage(cpuStart);
  return { ops: (n / elapsed) * 1000, cpuUs: (cpu.user + cpu.system) / n };
}

const lines = (stream) => {
  let buf = '';
  const waiting = [];
  stream.setEncoding('utf8');
  stream.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  return () => new Promise((r) => waiting.push(r));
};

if (values.child !== undefined) {
  // Child of --instructions: warm up, then COUNT verifications when told (counters zeroed before, dumped after).
  const variants = await setUp();
  const [, fn, isAsync] = variants.find(([name]) => name === values.child);
  await repeat(fn, isAsync, WARMUP);
  const next = lines(process.stdin);
  process.stdout.write('READY\n');
  await next();
  await repeat(fn, isAsync, COUNT);
  process.stdout.write('DONE\n');
  await next();
  process.exit(0);
}

if (values.instructions) {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('--instructions needs valgrind and callgrind_control on PATH (Debian: apt-get install valgrind).');
    process.exit(2);
  }
  const names = (await setUp()).map(([name]) => name).filter((name) => name !== 'sdk, verified-token cache');
  const outDir = mkdtempSync(join(tmpdir(), 'sdk-verify-cg-'));
  const counts = new Map();
  try {
    for (const [i, name] of names.entries()) {
      const args = ['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${join(outDir, `cg.${i}.%p`)}`, process.execPath, '--no-memory-reducer'];
      args.push(process.argv[1], '--child', name, '--count', String(COUNT));
      if (values['baseline-sdk']) args.push('--baseline-sdk', values['baseline-sdk']);
      const child = spawn('valgrind', args, { stdio: ['pipe', 'pipe', 'ignore'] });
      const next = lines(child.stdout);
      const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
      if ((await next()) !== 'READY') throw new Error(`${name}: child did not get ready`);
      execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
      child.stdin.write('go\n');
      if ((await next()) !== 'DONE') throw new Error(`${name}: child did not finish`);
      execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
      // Main thread, and all threads: jose hands its WebCrypto verify to libuv's thread pool (the
      // baseline), so only the sum compares the builds; JIT and GC threads make it the noisier.
      const prefix = `cg.${i}.${child.pid}.1-`;
      const files = readdirSync(outDir).filter((f) => f.startsWith(prefix));
      if (!files.includes(`${prefix}01`)) throw new Error(`${name}: no callgrind dump of the main thread`);
      const irOf = (f) => Number(/^totals: (\d+)/m.exec(readFileSync(join(outDir, f), 'utf8'))?.[1]);
      const main = irOf(`${prefix}01`) / COUNT;
      const all = files.reduce((sum, f) => sum + irOf(f), 0) / COUNT;
      counts.set(name, { main, all });
      child.stdin.write('exit\n');
      await new Promise((r) => child.once('exit', r));
      clearTimeout(timer);
      console.log(`${name.padEnd(32)} ${String(Math.round(main)).padStart(9)} instructions per verify on the main thread, ${String(Math.round(all)).padStart(9)} on all threads`);
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  const raw = counts.get(RAW);
  console.log('');
  for (const which of ['main', 'all']) {
    const ratio = (name) => (raw[which] / counts.get(name)[which]).toFixed(3);
    console.log(`sdk-no-cache ÷ raw, as instructions predict it (raw Ir ÷ sdk Ir; ${which === 'main' ? 'main thread' : 'all threads'}): ${ratio(NO_CACHE)}` + (counts.has(BASELINE) ? `  (baseline sdk: ${ratio(BASELINE)})` : ''));
  }
  console.log(`(${COUNT} verifications per variant under callgrind, Node ${process.version}, ${new Date().toISOString()})`);
  process.exit(0);
}

const variants = await setUp();
const results = new Map();
const cpus = new Map();
const roundRatios = [];
for (let round = 0; round < ROUNDS; round++) {
  const ops = new Map();
  for (const [name, fn, isAsync] of variants) {
    const r = await measure(fn, isAsync);
    ops.set(name, r.ops);
    (results.get(name) ?? results.set(name, []).get(name)).push(r.ops);
    (cpus.get(name) ?? cpus.set(name, []).get(name)).push(r.cpuUs);
    console.log(`round ${round + 1} ${name.padEnd(32)} ${String(Math.round(r.ops)).padStart(9)} verify/s  ${r.cpuUs.toFixed(2).padStart(8)} µs CPU each`);
  }
  roundRatios.push(ops.get(NO_CACHE) / ops.get(RAW));
}
const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const raw = mean(results.get(RAW));
const rawCpu = median(cpus.get(RAW));
console.log('');
for (const [name] of variants) {
  const m = mean(results.get(name));
  const c = median(cpus.get(name));
  console.log(
    `${name.padEnd(32)} ${String(Math.round(m)).padStart(9)} verify/s  (${(m / raw).toFixed(2)}x raw Ed25519; ${(1e6 / m).toFixed(2)} µs each)  CPU ${c.toFixed(2)} µs each, median (raw ÷ this: ${(rawCpu / c).toFixed(2)})`,
  );
}
console.log(`sdk-no-cache ÷ raw in verify/s, each round: ${roundRatios.map((r) => r.toFixed(2)).join(' ')}; mean ${mean(roundRatios).toFixed(2)}, median ${median(roundRatios).toFixed(2)}`);
console.log(`(${ROUNDS} x ${DURATION_MS / 1000}s per variant, interleaved, Node ${process.version}, ${new Date().toISOString()})`);
