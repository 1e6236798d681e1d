/**
 * A private PostgreSQL cluster for destructive tests (stop, SIGSTOP, restart): `initdb` into a
 * temporary folder and `postgres` on a free loopback port, run as the `postgres` user when this
 * process is root (initdb refuses root). Never the shared 5432. `remove()` kills it and deletes
 * the folder. No vitest import (plain helpers); every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../redis/redis-server.test-helpers.js';

/** The folder of `initdb`/`postgres`: GATEHOUSE_TEST_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin. */
export function postgresBin(): string | undefined {
  if (process.env.GATEHOUSE_TEST_PG_BIN) return process.env.GATEHOUSE_TEST_PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0]!, 'bin') : undefined;
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export class PrivatePostgres {
  private proc: ChildProcess | undefined;
  private dir: string | undefined;
  port = 0;

  constructor(private readonly bin = postgresBin()) {}

  /** Whether initdb and postgres can run here (a test decides to fail or skip on it). */
  get available(): boolean {
    return this.bin !== undefined && (process.getuid?.() !== 0 || userIds('postgres') !== undefined);
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on loopback). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** initdb (first time only), then starts the server on `port` (default: the previous one, else a free one). */
  async start(port?: number): Promise<void> {
    if (this.bin === undefined) throw new Error('PostgreSQL binaries not found (set GATEHOUSE_TEST_PG_BIN)');
    const asRoot = process.getuid?.() === 0;
    const ids = asRoot ? userIds('postgres') : undefined;
    if (asRoot && ids === undefined) throw new Error('running as root and there is no postgres user to run PostgreSQL as');
    const spawnOpts = ids ? { uid: ids.uid, gid: ids.gid } : {};
    if (this.dir === undefined) {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-'));
      if (ids) chownSync(dir, ids.uid, ids.gid);
      chmodSync(dir, 0o700);
      const init = spawnSync(join(this.bin, 'initdb'), ['-D', dir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
        ...spawnOpts,
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (init.status !== 0) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
      }
      this.dir = dir;
    }
    if (port !== undefined) this.port = port;
    if (this.port === 0) this.port = await freePort();
    const proc = spawn(
      join(this.bin, 'postgres'),
      ['-D', this.dir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${this.dir}`, '-c', 'fsync=off', '-c', 'max_connections=200'],
      { ...spawnOpts, stdio: 'ignore' },
    );
    this.proc = proc;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`postgres exited with ${proc.exitCode}`);
      if (await this.answers()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error('PostgreSQL did not answer within 30 s');
  }

  /** Runs `select 1`; true when it answers within a second. */
  async answers(): Promise<boolean> {
    const c = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 1000, query_timeout: 1000 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** SIGSTOP / SIGCONT of the postmaster and every backend: a server that hangs with its connections open. */
  pause(): void {
    this.signalAll('SIGSTOP');
  }
  resume(): void {
    this.signalAll('SIGCONT');
  }

  private signalAll(signal: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    // Backends are children of the postmaster; signal them too, or open connections keep answering.
    spawnSync('pkill', [`-${signal.slice(3)}`, '-P', String(pid)]);
    this.proc?.kill(signal);
  }

  /** Stops the server: 'fast' (SIGINT, clients told) or 'kill' (SIGKILL, like a crash). Keeps the data for start(). */
  async stop(mode: 'fast' | 'kill' = 'fast'): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      if (mode === 'kill') {
        spawnSync('pkill', ['-KILL', '-P', String(proc.pid)]);
        proc.kill('SIGKILL');
      } else {
        this.resume();
        proc.kill('SIGINT');
      }
    });
  }

  /** Stops the server and removes its folder. */
  async remove(): Promise<void> {
    await this.stop('kill');
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
