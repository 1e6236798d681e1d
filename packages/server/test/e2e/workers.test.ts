import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { rawConnection as raw, responseHead as head, runCli, signUpAndIn, startGatehouse, tempDataDir, until, type StartedGatehouse } from './harness.js';

// Issue 16 part 1 with the real CLI: `gatehouse start --workers 2` (node:cluster). Requests on
// fresh connections (`Connection: close`) are handed to the workers round-robin; the access log
// lines carry the worker's pid, so each test sees which workers answered.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `gatehouse start --workers 2` with JSON logs at info and the access log on. */
async function startWorkers(env: Record<string, string> = {}): Promise<StartedGatehouse & { pids: number[]; dataDir: string }> {
  const dataDir = tempDataDir();
  dirs.push(dataDir);
  const file = join(dataDir, 'config.json');
  writeFileSync(file, JSON.stringify({ log: { access: true } }));
  const gh = await startGatehouse(dataDir, { GATEHOUSE_WORKERS: '2', GATEHOUSE_CONFIG: file, GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_LOG_FORMAT: 'json', ...env });
  const pids = /workers:\s+2 gateway processes on one port \(pids (\d+), (\d+); primary (\d+)\)/.exec(gh.stdout());
  expect(pids, gh.stdout()).not.toBeNull();
  expect(Number(pids![3])).toBe(gh.proc.pid);
  return { ...gh, pids: [Number(pids![1]), Number(pids![2])], dataDir };
}

interface LogLine {
  event?: string;
  worker?: number;
  path?: string;
  status?: number;
  pid?: number;
  signal?: string;
  restartInMs?: number;
  msg?: string;
}

function logLines(gh: StartedGatehouse): LogLine[] {
  return gh
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The workers whose access log shows `path` answered `status` (from the `from`-th line on). */
function workersThatAnswered(gh: StartedGatehouse, path: string, status: number, from = 0): Set<number> {
  return new Set(
    logLines(gh)
      .slice(from)
      .filter((l) => l.event === 'http.access' && l.path === path && l.status === status)
      .map((l) => l.worker!),
  );
}

/**
 * Waits (up to 3 s) until the access log shows exactly `expected` workers answering `path` with
 * `status`, then asserts it: each worker writes its log lines asynchronously, so the last line of
 * a worker can reach stderr after the answer reached the test.
 */
async function expectAnsweredBy(gh: StartedGatehouse, path: string, status: number, expected: Set<number>, from = 0): Promise<void> {
  const same = () => {
    const seen = workersThatAnswered(gh, path, status, from);
    return seen.size === expected.size && [...seen].every((w) => expected.has(w));
  };
  await until('access log lines of every worker', same, 3_000).catch(() => undefined);
  expect(workersThatAnswered(gh, path, status, from)).toEqual(expected);
}

/** `n` GETs of `path`, each on a new connection (so round-robin spreads them over the workers). */
async function fresh(url: string, path: string, n: number, cookie?: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(url + path, { headers: { connection: 'close', ...(cookie !== undefined ? { cookie } : {}) } });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

function metricValue(text: string, line: string): number {
  const m = text.split('\n').find((l) => l.startsWith(`${line} `));
  return m === undefined ? 0 : Number(m.slice(line.length + 1));
}

describe('gatehouse start --workers 2', () => {
  it('a cookie works through every worker, a sign-out is refused by every worker at once, /metrics sums them all', async () => {
    const gh = await startWorkers();
    try {
      const b = await signUpAndIn(gh.url, 'workers-e2e');
      const cookie = b.jar.header();
      expect(await fresh(gh.url, '/api/home', 6, cookie)).toEqual([200, 200, 200, 200, 200, 200]);
      await expectAnsweredBy(gh, '/api/home', 200, new Set(gh.pids));

      // Sign out through one worker; the very next requests, spread over both workers, are refused
      // (no wait: the 1 s revocation-log poll would be too late).
      const before = logLines(gh).length;
      const out = await b.fetch('/auth/signout', { method: 'POST', headers: { 'x-csrf-token': b.csrf!, connection: 'close' } });
      expect(out.status).toBe(204);
      expect(await fresh(gh.url, '/api/home', 6, cookie)).toEqual([401, 401, 401, 401, 401, 401]);
      await expectAnsweredBy(gh, '/api/home', 401, new Set(gh.pids), before);

      // /metrics, asked of either worker, counts the requests of both (and the auth service's counters).
      for (let i = 0; i < 2; i++) {
        const text = await (await fetch(`${gh.url}/metrics`, { headers: { connection: 'close' } })).text();
        expect(metricValue(text, 'gatehouse_gateway_requests_total{route="/api/home",outcome="upstream_2xx"}')).toBe(6);
        expect(metricValue(text, 'gatehouse_gateway_requests_total{route="/api/home",outcome="invalid_token"}')).toBe(6);
        expect(metricValue(text, 'gatehouse_revocations_total{kind="session"}')).toBe(1);
        // A gauge that is 1 in each process reads 1, not 2.
        expect(metricValue(text, 'gatehouse_revocation_feed_mode{mode="in-process"}')).toBe(1);
      }
    } finally {
      await gh.stop('SIGKILL');
    }
  });

  it('a worker killed with SIGKILL is logged and replaced, with a growing back-off while they die young; the other serves meanwhile', async () => {
    const gh = await startWorkers();
    try {
      const b = await signUpAndIn(gh.url, 'workers-kill');
      const cookie = b.jar.header();
      const [victim, survivor] = gh.pids as [number, number];
      process.kill(victim, 'SIGKILL');
      await until('the death is logged', () => logLines(gh).some((l) => l.event === 'worker.exit' && l.pid === victim && l.signal === 'SIGKILL'), 5000);
      await until('a replacement serves', () => logLines(gh).some((l) => l.event === 'worker.replaced'), 15_000);
      const first = logLines(gh).find((l) => l.event === 'worker.replaced')!.pid!;
      expect([victim, survivor]).not.toContain(first);
      // Workers dying young (within 30 s of their start) are replaced after a back-off that doubles: 0.5 s, then 1 s.
      const exits = () => logLines(gh).filter((l) => l.event === 'worker.exit');
      expect(exits()[0]!.restartInMs).toBe(500);
      process.kill(first, 'SIGKILL');
      await until('the second death is logged', () => exits().length === 2, 5000);
      expect(exits()[1]).toMatchObject({ pid: first, signal: 'SIGKILL', restartInMs: 1000 });
      await until('a second replacement serves', () => logLines(gh).filter((l) => l.event === 'worker.replaced').length === 2, 15_000);
      const replacement = logLines(gh).filter((l) => l.event === 'worker.replaced')[1]!.pid!;
      const from = logLines(gh).length;
      expect(await fresh(gh.url, '/api/home', 6, cookie)).toEqual([200, 200, 200, 200, 200, 200]);
      await expectAnsweredBy(gh, '/api/home', 200, new Set([survivor, replacement]), from);
    } finally {
      await gh.stop('SIGKILL');
    }
  });

  it('SIGTERM drains every worker: a slow POST in flight completes (201), new connections are refused, exit 0', async () => {
    const gh = await startWorkers();
    try {
      const b = await signUpAndIn(gh.url, 'workers-drain');
      const host = new URL(gh.url).host;
      const body = JSON.stringify({ text: 'written while the workers were stopping'.padEnd(200, '.') });
      // Two slow uploads on two connections: one in each worker.
      const uploads = [await raw(gh.url), await raw(gh.url)];
      const chunks = body.match(/.{1,20}/gs)!;
      for (const u of uploads) {
        u.socket.write(
          `POST /api/notes HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            `Cookie: ${b.jar.header()}\r\nX-CSRF-Token: ${b.csrf}\r\n\r\n${chunks[0]}`,
        );
      }
      await sleep(100);
      const exited = new Promise<number | null>((r) => gh.proc.once('exit', (code) => r(code)));
      gh.proc.kill('SIGTERM');
      await until('the signal is handled', () => gh.stdout().includes('Received SIGTERM'), 5000);
      for (const c of chunks.slice(1)) {
        await sleep(1000 / chunks.length);
        for (const u of uploads) {
          expect(u.socket.destroyed, 'an upload was cut').toBe(false);
          u.socket.write(c);
        }
      }
      await expect(raw(gh.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      for (const u of uploads) {
        await until('upload answer', () => u.data().includes('\r\n\r\n'), 5000);
        expect(head(u.data()).status, u.data()).toBe(201);
        expect(head(u.data()).headers.connection).toBe('close');
      }
      expect(await exited).toBe(0);
      expect(gh.stdout()).toContain('Gatehouse stopped.');
      // The two uploads were in the two workers (their access lines are written once the answer is done).
      await expectAnsweredBy(gh, '/api/notes', 201, new Set(gh.pids));
      for (const pid of gh.pids) expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      await gh.stop('SIGKILL');
    }
  });

  it('workers that cannot start stop the start with their reason (exit 1), and --workers takes a number or auto', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    try {
      // The admin listener is the workers' (the primary binds nothing public): a busy port fails them.
      const r = runCli(['start', '--workers', '2', '--port', '0'], { dataDir, env: { GATEHOUSE_ADMIN_PORT: String(port), GATEHOUSE_LOG_LEVEL: 'warn' } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      busy.close();
    }
    const bad = runCli(['start', '--workers', 'many'], { dataDir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('gateway.workers (GATEHOUSE_WORKERS) must be a whole number from 1 to 999, or "auto"');
    const elsewhere = runCli(['users', 'add', 'x', '--workers', '2'], { dataDir });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toContain('--workers applies to "gatehouse start" and "gatehouse gateway" only');
  });
});
