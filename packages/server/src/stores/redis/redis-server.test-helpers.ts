/**
 * A private redis-server for destructive tests (SIGKILL, restart empty, FLUSHALL): its own
 * free port, no persistence, killed at the end. Never the shared 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/**
 * A port free now, for a process the test starts later. Picked at random below Linux's ephemeral
 * range (32768-60999), where nothing else on the box gets a port by itself: a port the kernel
 * handed out for `listen(0)` and we closed could be taken again by any test's outgoing connection
 * or `listen(0)` before our process binds it (seen: "port already in use" for an auth service of
 * a scale-out test while the rest of the suite ran beside it).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
    if (attempt === 50) throw new Error('freePort: no free port found in 20000-31999 after 50 tries');
  }
}

/** Sends PING on a raw socket; true when +PONG comes back within `timeoutMs`. */
function ping(port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    const done = (ok: boolean): void => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

export class PrivateRedis {
  private proc: ChildProcess | undefined;
  port = 0;

  constructor(private readonly bin = process.env.GATEHOUSE_TEST_REDIS_SERVER ?? 'redis-server') {}

  /** Whether the server process is alive. */
  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (again) on `port` (default: the previous one, else a free one) and waits for PONG. */
  async start(port?: number): Promise<void> {
    if (port !== undefined) this.port = port;
    if (this.port === 0) this.port = await freePort();
    const proc = spawn(this.bin, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], {
      stdio: 'ignore',
    });
    this.proc = proc;
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`);
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill('SIGKILL');
    throw new Error('redis-server did not answer within 5 s');
  }

  /** SIGSTOP / SIGCONT: a server that hangs without closing its connections. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  /** Kills the server (SIGKILL: no goodbye to clients) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || (proc.signalCode !== null && proc.signalCode !== 'SIGSTOP')) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
      if (signal !== 'SIGKILL') proc.kill('SIGCONT');
    });
  }
}
