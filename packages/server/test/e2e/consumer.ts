// Helpers for the tests that act as "another repository": a service outside this workspace that
// uses @gatehouse/sdk, type-checked with this checkout's TypeScript and run behind a real gateway.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** This checkout's TypeScript compiler (the consumer projects have none of their own). */
export const TSC = fileURLToPath(new URL('../../../../node_modules/typescript/bin/tsc', import.meta.url));
/** This checkout's @types (node): a consumer project's tsconfig points `typeRoots` here. */
export const TYPE_ROOTS = fileURLToPath(new URL('../../../../node_modules/@types', import.meta.url));

/** Runs `tsc -p <dir>`; returns its exit status and what it printed (the errors). */
export function tsc(projectDir: string, extraArgs: string[] = []): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [TSC, '-p', projectDir, ...extraArgs], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A port that was free a moment ago (for a gateway whose URL a service must know before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningService {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs `node <script>` and waits for it to listen: the URL is taken from Fastify's
 * "Server listening at <url>" log line (pino JSON), or from a `{"listening": "<url>"}` line.
 */
export async function startService(script: string, env: Record<string, string>, cwd: string): Promise<RunningService> {
  const proc = spawn(process.execPath, [script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not listen within 20 s:\n${out}`)), 20_000);
    const check = () => {
      const m = /"listening":"(http:\/\/[^"]+)"|Server listening at (http:\/\/[\d.:]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve((m[1] ?? m[2])!);
      }
    };
    proc.stdout.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the service exited before listening:\n${out}`));
    });
  });
  return {
    url,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** The JSON objects a process printed one per line (pino logs, the services' own lines). */
export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

/** Polls `condition` (e.g. "the service has printed its log line") for up to `ms`. */
export async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
