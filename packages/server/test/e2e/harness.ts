import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The built CLI (npm test builds before running vitest). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
}

export interface StartedGatehouse {
  url: string;
  internal: Record<string, string>;
  stdout: () => string;
  /** What it logged so far (the logger writes to stderr). */
  stderr: () => string;
  proc: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Runs `gatehouse start` as a real child process on a free port and waits for its start line.
 * `cli` is the script to run (default: this checkout's built CLI; the pack test passes an
 * installed `node_modules/.bin/gatehouse`).
 */
export async function startGatehouse(dataDir: string, env: Record<string, string> = {}, cli: string = CLI): Promise<StartedGatehouse> {
  const proc = spawn(process.execPath, [cli, 'start'], {
    env: { ...process.env, GATEHOUSE_PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gatehouse start did not come up in 20 s.\nstdout: ${out}\nstderr: ${err}`)), 20_000);
    const check = () => {
      const m = /is up at (https?:\/\/\S+)/.exec(out);
      if (m && out.includes('internal:')) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse start exited with ${code}.\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const internal: Record<string, string> = {};
  const line = /internal:\s+(.*)/.exec(out)?.[1] ?? '';
  for (const m of line.matchAll(/(\w+) (http:\/\/[\d.:]+)/g)) internal[m[1]!] = m[2]!;
  return {
    url,
    internal,
    stdout: () => out,
    stderr: () => err,
    proc,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { dataDir?: string; input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...(options.dataDir ? { GATEHOUSE_DATA_DIR: options.dataDir } : {}), ...options.env },
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A tiny cookie jar: enough for one browser talking to one gateway. */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  store(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const maxAge = attrs.find((a) => a.trim().toLowerCase().startsWith('max-age='));
      if (maxAge && Number(maxAge.split('=')[1]) <= 0) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  get(name: string): string | undefined {
    return this.cookies.get(name);
  }
}

export interface Browser {
  jar: CookieJar;
  csrf?: string;
  fetch(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

/** A same-origin client with a cookie jar, like a browser on the gateway's pages. */
export function browser(base: string): Browser {
  const jar = new CookieJar();
  const b: Browser = {
    jar,
    async fetch(path, init = {}) {
      const headers = new Headers(init.headers);
      if (jar.cookies.size && !headers.has('cookie')) headers.set('cookie', jar.header());
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      const res = await fetch(base + path, { ...init, headers, body, redirect: 'manual' });
      jar.store(res);
      return res;
    },
  };
  return b;
}

export async function signUpAndIn(base: string, username: string, password = 'correct horse battery staple'): Promise<Browser> {
  const b = browser(base);
  const up = await b.fetch('/auth/signup', { method: 'POST', json: { username, password } });
  if (up.status !== 201) throw new Error(`signup ${up.status}: ${await up.text()}`);
  const res = await b.fetch('/auth/signin', { method: 'POST', json: { username, password } });
  if (res.status !== 200) throw new Error(`signin ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { csrf_token: string };
  b.csrf = body.csrf_token;
  return b;
}

/** A raw TCP connection: what it received so far, and when it closed. */
export interface Raw {
  socket: Socket;
  data(): string;
  closedAt: Promise<number>;
}

export function rawConnection(url: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(performance.now())));
    socket.once('connect', () => resolve({ socket, data: () => data, closedAt }));
    socket.once('error', reject);
  });
}

/** Polls `probe` every 5 ms; throws after `ms`. */
export async function until(what: string, probe: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

/** The status line and headers of the first response in `text` (lower-case names). */
export function responseHead(text: string): { status: number; headers: Record<string, string> } {
  const [statusLine, ...lines] = text.split('\r\n\r\n')[0]!.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers };
}
