/**
 * Process helpers of the multi-process scale-out tests: real `gatehouse auth` / `gatehouse
 * gateway` processes of the built CLI on one private PostgreSQL database and one private
 * redis-server. No vitest import (plain helpers); every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { requirePostgres, requireRedisServerBinary, TEST_DATABASE_URL, withTestClient } from '../../src/stores/postgres/test-env.test-helpers.js';
import { CLI } from '../e2e/harness.js';

export { freePort, PrivateRedis } from '../../src/stores/redis/redis-server.test-helpers.js';
import { freePort, PrivateRedis } from '../../src/stores/redis/redis-server.test-helpers.js';
export { sleep };

export const PASSWORD = 'correct horse battery staple';

/** Whether the built CLI knows the scale-out roles (`gatehouse auth`, `gatehouse gateway`). */
export function cliHasRoles(): boolean {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', timeout: 10_000 });
  return /gatehouse auth\b/.test(r.stdout ?? '') && /gatehouse gateway\b/.test(r.stdout ?? '');
}

/**
 * Whether a scale-out suite can run here: PostgreSQL on the test server and a redis-server binary
 * (each check says what is missing, as it does alone); throws when they are there but the built
 * CLI lacks the roles (`npm run build` not run), so the suite cannot skip for that.
 */
export async function scaleOutReady(suite: string): Promise<boolean> {
  const pgOk = await requirePostgres(TEST_DATABASE_URL, suite);
  const redisOk = await requireRedisServerBinary();
  const ready = pgOk && redisOk;
  if (ready && !cliHasRoles()) throw new Error('The built CLI has no `gatehouse auth` / `gatehouse gateway` (run `npm run build`).');
  return ready;
}

/** A database of its own on the test server: `gh_mp_<random>`, dropped (WITH FORCE) by `drop()`. */
export interface PrivateDatabase {
  name: string;
  url: string;
  /** Runs SQL on it from the test (to inspect tables and rows). */
  query<T extends Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createPrivateDatabase(prefix = 'gh_mp'): Promise<PrivateDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withTestClient((c) => c.query(`create database "${name}"`));
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    name,
    url,
    query: async <T extends Record<string, unknown>>(text: string, values?: unknown[]) => withTestClient(async (c) => (await c.query(text, values)).rows as T[], url),
    drop: () => withTestClient((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
  };
}

/** A config file for every process of a test cluster (all requests come from 127.0.0.1). */
export function writeClusterConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'gatehouse.json');
  writeFileSync(
    file,
    JSON.stringify({
      // One loopback address is many users here: per-IP limits off (the per-account lock stays on).
      signin: { perIpPerMinute: 0 },
      signup: { perIpPerMinute: 0, autoChallenge: { perIpPerMinute: 0, globalPerMinute: 0 } },
      ...extra,
    }),
  );
  return file;
}

/** A 32-byte master key shared by every process of a cluster. */
export function masterKey(): string {
  return randomBytes(32).toString('base64url');
}

export type Role = 'auth' | 'gateway' | 'start';

export interface RoleProcess {
  role: Role;
  /** The URL the test talks to: http://127.0.0.1:<port> (the URL of the start line for auth). */
  url: string;
  port: number;
  pid: number;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartRoleOptions {
  /** The port to bind (default 0: a free one). Fixed ports let a test restart a role where its peers expect it. */
  port?: number;
  env?: Record<string, string>;
  /** Bound of the start (default 30 s: two cores, several processes starting together). */
  timeoutMs?: number;
}

/** Every GATEHOUSE_* variable of the test runner's environment is left out: a cluster gets only what the test gives it. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEHOUSE_')) env[k] = v;
  return env;
}

const tempDirs = new Set<string>();
const children = new Set<ChildProcess>();

/** SIGKILLs every process startRole spawned that is still alive (after a failed start or test). */
export async function killLeftovers(): Promise<void> {
  await Promise.all(
    [...children].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
  children.clear();
}

/** A temporary data dir (removed by removeTempDirs). */
export function tempDir(prefix = 'gatehouse-mp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

/**
 * Runs `gatehouse <role> --port N` of the built CLI and waits for its start line ("… is up at
 * http://…"; for a gateway also its `internal:` line), then for `/healthz` to answer.
 */
export async function startRole(role: Role, options: StartRoleOptions = {}): Promise<RoleProcess> {
  const port = options.port ?? 0;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const proc = spawn(process.execPath, [CLI, role, '--port', String(port)], {
    env: { ...baseEnv(), GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_DATA_DIR: tempDir(), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const printed = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`gatehouse ${role} did not come up in ${timeoutMs} ms.\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    const check = () => {
      const m = /is up at (http:\/\/\S+)/.exec(out);
      if (m && (role === 'auth' || out.includes('internal:'))) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse ${role} exited with ${code} before it was up.\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const actualPort = port !== 0 ? port : Number(new URL(printed).port);
  const url = role === 'auth' ? printed.replace(/\/+$/, '') : `http://127.0.0.1:${actualPort}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`gatehouse ${role} printed its start line but ${url}/healthz did not answer 200 within 10 s.\nstdout: ${out}\nstderr: ${err}`);
    await sleep(50);
  }
  return {
    role,
    url,
    port: actualPort,
    pid: proc.pid!,
    proc,
    stdout: () => out,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const bound = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      proc.kill(signal);
      const code = await exited;
      clearTimeout(bound);
      return code;
    },
  };
}

/** Sends one command to a Redis server on a raw socket (e.g. FLUSHALL); resolves with its first reply line. */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]} timed out`));
    }, 3000);
    sock.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    sock.on('connect', () => sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    sock.on('data', (d) => {
      clearTimeout(t);
      sock.destroy();
      resolve(d.toString().split('\r\n')[0]!);
    });
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** A signed-in browser session, usable on any gateway of the cluster. */
export interface Session {
  username: string;
  cookie: string;
  csrf: string;
}

function cookiesOf(res: Response): string {
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((p) => !/=$/.test(p))
    .join('; ');
}

/**
 * A setup request (the starting point of a test, not what it tests): a 503 (a store answering
 * late on a loaded 2-core CI box, or a full hashing queue) is tried again after a pause, up to
 * three times; every other answer is returned as it is. `retried` says whether it was.
 */
async function setupRequest(send: () => Promise<Response>): Promise<{ res: Response; retried: boolean }> {
  for (let tries = 0; ; tries++) {
    const res = await send();
    if (res.status !== 503 || tries === 3) return { res, retried: tries > 0 };
    await res.text();
    await new Promise((r) => setTimeout(r, 500 * (tries + 1)));
  }
}

export async function signUp(base: string, username: string, password = PASSWORD): Promise<void> {
  const { res, retried } = await setupRequest(() => fetch(`${base}/auth/signup`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ username, password }) }));
  // A sign-up whose first try committed before its 503 answers 409 the second time.
  if (res.status === 201 || (retried && res.status === 409)) return;
  throw new Error(`signup of ${username} through ${base}: ${res.status} ${await res.text()}`);
}

export function signInRequest(base: string, username: string, password = PASSWORD): Promise<Response> {
  return fetch(`${base}/auth/signin`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ username, password }) });
}

export async function signIn(base: string, username: string, password = PASSWORD): Promise<Session> {
  const { res } = await setupRequest(() => signInRequest(base, username, password));
  if (res.status !== 200) throw new Error(`signin of ${username} through ${base}: ${res.status} ${await res.text()}`);
  const { csrf_token: csrf } = (await res.json()) as { csrf_token: string };
  return { username, cookie: cookiesOf(res), csrf };
}

export async function signUpAndIn(base: string, username: string): Promise<Session> {
  await signUp(base, username);
  return signIn(base, username);
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

export async function passwordGrant(base: string, username: string, deviceId: string, password = PASSWORD, scope?: string): Promise<Tokens> {
  const { res } = await setupRequest(() =>
    fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username, password, device_id: deviceId, ...(scope !== undefined ? { scope } : {}) }).toString(),
    }),
  );
  if (res.status !== 200) throw new Error(`password grant of ${username} through ${base}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Tokens;
}

/** Creates an API token through a cookie session (with its CSRF token); returns the secret. */
export async function createApiToken(base: string, s: Session, name: string): Promise<string> {
  const res = await fetch(`${base}/auth/api-tokens`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, cookie: s.cookie, 'x-csrf-token': s.csrf },
    body: JSON.stringify({ name, scopes: ['notes:read'] }),
  });
  if (res.status !== 201) throw new Error(`API token creation through ${base}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export const cookieHeaders = (s: Session): Record<string, string> => ({ cookie: s.cookie });
export const bearerHeaders = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export function signOut(base: string, s: Session): Promise<Response> {
  return fetch(`${base}/auth/signout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
}

export async function whoami(base: string, headers: Record<string, string>): Promise<{ status: number; claims: Record<string, unknown> | null }> {
  const res = await fetch(`${base}/api/home/whoami`, { headers });
  const text = await res.text();
  return { status: res.status, claims: res.status === 200 ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/**
 * From now, requests `url` with `headers` every `everyMs` until it answers anything but 200.
 * `ms`: from the call to the refusing answer (an upper bound of the delay; Infinity after
 * `limitMs`); `lastOkMs`: to the last 200 before it (a lower bound; 0 when the first poll was refused).
 */
export async function timeUntilRefused(url: string, headers: Record<string, string>, limitMs: number, everyMs = 2): Promise<{ ms: number; lastOkMs: number; status: number; polls: number }> {
  const started = performance.now();
  let polls = 0;
  let lastOkMs = 0;
  for (;;) {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    polls++;
    const ms = performance.now() - started;
    if (res.status !== 200) return { ms, lastOkMs, status: res.status, polls };
    lastOkMs = ms;
    if (ms > limitMs) return { ms: Infinity, lastOkMs, status: res.status, polls };
    await sleep(everyMs);
  }
}

/** "12.3 ms (last 200 at 8.1 ms, 4 polls)" */
export function describeDelay(d: { ms: number; lastOkMs: number; polls: number }): string {
  return `${d.ms.toFixed(1)} ms (last 200 at ${d.lastOkMs.toFixed(1)} ms, ${d.polls} poll${d.polls === 1 ? '' : 's'})`;
}

export interface LoopTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
}

export interface LoopResult {
  total: number;
  byTarget: Record<string, number>;
  failures: Array<{ target: string; status: number | string; atMs: number; body: string }>;
}

/**
 * A bounded background loop of authenticated requests: `concurrency` workers go round the
 * targets until `stop()` (or `maxMs`), recording every answer that is not 200.
 */
export function trafficLoop(targets: LoopTarget[], options: { concurrency?: number; maxMs?: number; pauseMs?: number } = {}) {
  const concurrency = options.concurrency ?? 2;
  const maxMs = options.maxMs ?? 30_000;
  const started = performance.now();
  let stopped = false;
  const result: LoopResult = { total: 0, byTarget: {}, failures: [] };
  const worker = async (w: number) => {
    let i = w;
    while (!stopped && performance.now() - started < maxMs) {
      const t = targets[i++ % targets.length]!;
      try {
        const res = await fetch(t.url, { headers: t.headers, signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        if (res.status !== 200) result.failures.push({ target: t.name, status: res.status, atMs: Math.round(performance.now() - started), body: body.slice(0, 300) });
      } catch (err) {
        result.failures.push({ target: t.name, status: (err as Error).name, atMs: Math.round(performance.now() - started), body: (err as Error).message });
      }
      result.total++;
      result.byTarget[t.name] = (result.byTarget[t.name] ?? 0) + 1;
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  return {
    elapsedMs: () => performance.now() - started,
    async stop(): Promise<LoopResult> {
      stopped = true;
      await Promise.all(workers);
      return result;
    },
  };
}

/** Polls `probe` until it returns true; returns the milliseconds it took (throws after `limitMs`). */
export async function waitFor(what: string, probe: () => Promise<boolean>, limitMs = 10_000, everyMs = 50): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe().catch(() => false)) return performance.now() - started;
    if (performance.now() - started > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(everyMs);
  }
}

/** Two instances (an auth service behind each of two gateways) on one private PostgreSQL database and one private redis-server. */
export interface TwoInstances {
  /** Gateway A's and B's base URLs. */
  readonly A: string;
  readonly B: string;
  /** The environment every process got (database, Redis, master key, config, public URL, extra). */
  readonly env: Record<string, string>;
  /** Stops the four processes, redis-server and the database. */
  stop(): Promise<void>;
}

export interface TwoInstancesOptions {
  /** Prefix of the private database's name. */
  readonly dbPrefix: string;
  /** The config (and extra environment) of every process, given gateway A's port (the public URL is A's). */
  readonly setup: (ports: { readonly gatewayA: number }) => Promise<{ config: Record<string, unknown>; env?: Record<string, string> }> | { config: Record<string, unknown>; env?: Record<string, string> };
  /** Runs once auth service A has started (and migrated the database), before the others start: CLI set-up. */
  readonly afterFirstAuth?: (env: Record<string, string>) => void | Promise<void>;
}

/**
 * Starts auth service A first (it migrates the schema), then auth service B and gateways A and B
 * (A's gateway in front of auth A, B's in front of auth B), all sharing the database, Redis,
 * master key, config and public URL (gateway A's), as a deployment without sticky sessions.
 */
export async function startTwoInstances(options: TwoInstancesOptions): Promise<TwoInstances> {
  const redis = new PrivateRedis();
  const [db] = await Promise.all([createPrivateDatabase(options.dbPrefix), redis.start()]);
  const procs: RoleProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop('SIGTERM')));
    await redis.kill();
    await db.drop();
  };
  try {
    const [pAuthA, pAuthB, pA, pB] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const { config, env: extra } = await options.setup({ gatewayA: pA });
    const env: Record<string, string> = {
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_REDIS_URL: redis.url,
      GATEHOUSE_MASTER_KEY: masterKey(),
      GATEHOUSE_CONFIG: writeClusterConfig(tempDir(), config),
      GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${pA}`,
      ...extra,
    };
    procs.push(await startRole('auth', { port: pAuthA, env }));
    await options.afterFirstAuth?.(env);
    procs.push(
      ...(await Promise.all([
        startRole('auth', { port: pAuthB, env }),
        startRole('gateway', { port: pA, env: { ...env, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${pAuthA}` } }),
        startRole('gateway', { port: pB, env: { ...env, GATEHOUSE_AUTH_URL: `http://127.0.0.1:${pAuthB}` } }),
      ])),
    );
    return { A: `http://127.0.0.1:${pA}`, B: `http://127.0.0.1:${pB}`, env, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
