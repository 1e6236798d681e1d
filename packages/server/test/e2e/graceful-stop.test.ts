import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { rawConnection as raw, responseHead as head, signUpAndIn, startGatehouse, tempDataDir, until } from './harness.js';

// Issue 11 item 11 with the real CLI process: SIGTERM drains instead of cutting requests.

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('graceful stop (SIGTERM)', () => {
  it('finishes a slow POST in flight (201, Connection: close), answers /readyz 503 at once, closes idle connections, refuses new ones, then exits 0', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const gh = await startGatehouse(dataDir);
    try {
      const b = await signUpAndIn(gh.url, 'drain-e2e');
      // Routed paths answer only the gateway's own host (421 otherwise, gateway.allowedHosts).
      const host = new URL(gh.url).host;

      // An idle kept-alive connection (it has had one answer).
      const idle = await raw(gh.url);
      idle.socket.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      await until('healthz answer', () => idle.data().includes('"ok"'), 5000);

      // A slow upload: headers now, the body dribbled over ~1 s, SIGTERM in the middle.
      const body = JSON.stringify({ text: 'written while the gateway was stopping'.padEnd(200, '.') });
      const upload = await raw(gh.url);
      upload.socket.write(
        `POST /api/notes HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `Cookie: ${b.jar.header()}\r\nX-CSRF-Token: ${b.csrf}\r\n\r\n`,
      );
      const chunks = body.match(/.{1,20}/gs)!;
      upload.socket.write(chunks.shift()!);

      // A /readyz whose headers are not complete yet when the signal comes.
      const ready = await raw(gh.url);
      ready.socket.write(`GET /readyz HTTP/1.1\r\nHost: ${host}\r\n`);
      await sleep(100);

      const exited = new Promise<number | null>((r) => gh.proc.once('exit', (code) => r(code)));
      const t0 = performance.now();
      gh.proc.kill('SIGTERM');
      await until('the signal is handled', () => gh.stdout().includes('Received SIGTERM'), 5000);

      ready.socket.write('\r\n');
      await until('readyz answer', () => ready.data().includes('\r\n\r\n'), 2000);
      const readyMs = performance.now() - t0;
      const r = head(ready.data());
      expect(r.status).toBe(503);
      expect(r.headers.connection).toBe('close');
      expect(ready.data()).toContain('"draining"');
      expect(readyMs).toBeLessThan(1000);

      // The idle connection is closed without another answer; a new connection is refused.
      const idleClosed = (await Promise.race([idle.closedAt, sleep(2000).then(() => Infinity)])) - t0;
      expect(idleClosed).toBeLessThan(1000);
      await expect(raw(gh.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

      // The upload goes on and completes.
      for (const c of chunks) {
        await sleep(1000 / chunks.length);
        expect(upload.socket.destroyed, 'the upload was cut').toBe(false);
        upload.socket.write(c);
      }
      await until('upload answer', () => upload.data().includes('\r\n\r\n'), 5000);
      const u = head(upload.data());
      expect(u.status, upload.data()).toBe(201);
      expect(u.headers.connection).toBe('close');
      await Promise.race([upload.closedAt, sleep(2000)]);
      expect(upload.socket.destroyed || upload.socket.readableEnded).toBe(true);

      expect(await exited).toBe(0);
      expect(gh.stdout()).toContain('Gatehouse stopped.');
    } finally {
      await gh.stop('SIGKILL');
    }
  });

  it('a second signal stops at once (exit 1) instead of waiting for the drain', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const gh = await startGatehouse(dataDir);
    try {
      // A request whose headers are still coming keeps the drain going (for up to 10 s).
      const stuck = await raw(gh.url);
      stuck.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
      await sleep(100);
      const exited = new Promise<number | null>((r) => gh.proc.once('exit', (code) => r(code)));
      gh.proc.kill('SIGTERM');
      await until('the signal is handled', () => gh.stdout().includes('Received SIGTERM'), 5000);
      await sleep(300);
      expect(gh.proc.exitCode).toBe(null);
      const t0 = performance.now();
      gh.proc.kill('SIGTERM');
      expect(await exited).toBe(1);
      expect(performance.now() - t0).toBeLessThan(3000);
    } finally {
      await gh.stop('SIGKILL');
    }
  });
});
