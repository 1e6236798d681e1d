// Helpers of the scale-out benchmarks (not a benchmark itself): child processes of the built
// CLI (`gatehouse start|auth|gateway`), a private redis-server on a free port, a private
// PostgreSQL database (created and dropped), and sign-in over HTTP. 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { request } from 'undici';

export const root = new URL('..', import.meta.url).pathname;
export const CLI = join(root, 'packages/server/dist/cli/main.js');
export const PASSWORD = 'benchmark passphrase 1';
export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const cleanups = [];
/** Runs every cleanup registered so far (children, servers, databases, temp dirs), newest first. */
export async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch (err) {
      console.error(`cleanup: ${err.message}`);
    }
  }
}

export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The environment of a child without the GATEHOUSE_* variables of this shell. */
function childEnv(env) {
  const out = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) out[k] = v;
  return { ...out, GATEHOUSE_LOG_LEVEL: 'error', ...env };
}

/**
 * Spawns `node args…` and resolves with the first match of `pattern` on its stdout (30 s bound).
 * `wrap` runs node under another program (`['valgrind', '--tool=callgrind', …]`), with its
 * stderr dropped and `timeoutMs` for its slower start.
 */
export function startChild(args, env = {}, pattern = /URL (http:\/\/\S+)/, { wrap = [], timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = wrap.length ? [...wrap, process.execPath] : [process.execPath];
    const p = spawn(cmd, [...pre, ...args], { cwd: root, env: childEnv(env), stdio: ['ignore', 'pipe', wrap.length ? 'ignore' : 'inherit'] });
    let stopped = false;
    const stop = (signal = 'SIGTERM') =>
      new Promise((r) => {
        if (p.exitCode !== null || p.signalCode !== null) return r(p.exitCode);
        stopped = true;
        p.once('exit', (c) => r(c));
        p.kill(signal);
      });
    cleanups.push(() => stop('SIGTERM'));
    let out = '';
    const t = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${out}`)), timeoutMs);
    p.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ url: m[1].replace(/\/+$/, ''), proc: p, stop, stdout: () => out });
      }
    });
    p.once('exit', (c, sig) => {
      if (stopped) return;
      const msg = `${args.join(' ')} exited (code ${c}, signal ${sig}) while the benchmark still needed it: ${out}`;
      console.error(msg);
      reject(new Error(msg));
    });
  });
}

/** `gatehouse <role> --port N` of the built CLI; resolves once `/healthz` answers. */
export async function startRole(role, env, port = 0) {
  const child = await startChild([CLI, role, '--port', String(port)], { GATEHOUSE_DATA_DIR: tempDir(), ...env }, /is up at (http:\/\/\S+)/);
  const url = role === 'auth' || port === 0 ? child.url : `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200) return { ...child, url };
    await sleep(50);
  }
  throw new Error(`${role} at ${url}: /healthz did not answer 200`);
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const done = (ok) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), 300);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** A private redis-server (no persistence) that can be killed and started again on its port. */
export class PrivateRedis {
  port = 0;
  proc = undefined;
  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }
  async start() {
    if (this.port === 0) this.port = await freePort();
    const proc = spawn(process.env.GATEHOUSE_TEST_REDIS_SERVER ?? 'redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    this.proc = proc;
    if (cleanups.indexOf(this.killer) < 0) {
      this.killer = () => this.kill();
      cleanups.push(this.killer);
    }
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await ping(this.port)) return;
      await sleep(25);
    }
    throw new Error('redis-server did not answer');
  }
  async kill(signal = 'SIGKILL') {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise((r) => {
      proc.once('exit', r);
      proc.kill(signal);
    });
  }
}

/** A private database on the test server (dropped WITH (FORCE) at cleanup); null when PostgreSQL is not there. */
export async function privateDatabase() {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  admin.on('error', () => undefined);
  try {
    await admin.connect();
  } catch (err) {
    console.log(`PostgreSQL not reachable at ${TEST_DATABASE_URL} (${err.message})`);
    return null;
  }
  const name = `gh_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database "${name}"`);
  cleanups.push(async () => {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A config file: per-IP limits off (every bench request comes from 127.0.0.1), plus `extra`. */
export function writeConfig(extra = {}) {
  const file = join(tempDir(), 'gatehouse.json');
  writeFileSync(file, JSON.stringify({ signin: { perIpPerMinute: 0 }, signup: { perIpPerMinute: 0, autoChallenge: { perIpPerMinute: 0, globalPerMinute: 0 } }, ...extra }));
  return file;
}

export const masterKey = () => randomBytes(32).toString('base64url');

const json = { 'content-type': 'application/json' };

export async function signUp(base, username) {
  const r = await fetch(`${base}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) });
  if (r.status !== 201) throw new Error(`sign-up of ${username}: ${r.status} ${await r.text()}`);
}

/** Signs in; returns { cookie, csrf }. */
export async function signIn(base, username) {
  const r = await fetch(`${base}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify({ username, password: PASSWORD }) });
  if (r.status !== 200) throw new Error(`sign-in of ${username}: ${r.status} ${await r.text()}`);
  const cookie = r.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((p) => !p.endsWith('='))
    .join('; ');
  return { cookie, csrf: (await r.json()).csrf_token };
}

/**
 * One sign-in with a ready JSON body, over undici's request() (keep-alive), not fetch(): fetch's
 * WHATWG streams cost the client ~0.5 ms per call on this machine, which is the client's cost,
 * not the sign-in's. Throws unless 200.
 */
export async function signInOnce(base, body) {
  const r = await request(`${base}/auth/signin`, { method: 'POST', headers: json, body });
  await r.body.arrayBuffer();
  if (r.statusCode !== 200) throw new Error(`sign-in: ${r.statusCode}`);
}

/** The middle sample (the mean of the two middle ones for an even count). */
export function median(samples) {
  const s = [...samples].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function quantiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}

/**
 * CPU time (ns) of a process's threads so far, from /proc/<pid>/task/<tid>/schedstat (Linux;
 * exact, not tick-sampled): its main thread (the event loop: gateway and auth service in one
 * process) and all threads (adds the argon2id hashing threads and V8's helpers). null elsewhere.
 */
/** `pid` and its children (a cluster's workers), from /proc. */
export function processFamily(pid) {
  const out = [pid];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

export function threadCpuNs(pid) {
  if (!existsSync(`/proc/${pid}/task`)) return null;
  let main = 0;
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns;
    try {
      ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      continue; // the thread ended meanwhile
    }
    all += ns;
    if (tid === String(pid)) main = ns;
  }
  return { main, all };
}

export { sleep };
