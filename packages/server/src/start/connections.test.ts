/**
 * Connection caps and timeouts of the public gateway server (issue 11 item 8), in process on a
 * real `startAll` (SQLite in a temp dir) over raw TCP sockets. Timeouts are short here; the
 * defaults are in config/defaults.ts and docs/configuration.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import type { GatehouseConfig } from '../config/types.js';
import { createLogger } from '../util/logger.js';
import { startAll, type RunningGatehouse } from './start-all.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-conn-'));
const running: RunningGatehouse[] = [];
let dirs = 0;

afterAll(async () => {
  for (const r of running) await r.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function start(gateway: Partial<GatehouseConfig['gateway']>): Promise<RunningGatehouse> {
  const c = structuredClone(DEFAULTS);
  c.port = 0;
  c.logLevel = 'silent';
  c.demo = false;
  c.dataDir = join(tmp, `d${++dirs}`);
  Object.assign(c.gateway, gateway);
  const r = await startAll({ config: c, logger: createLogger('silent') });
  running.push(r);
  return r;
}

interface Conn {
  socket: Socket;
  data: () => string;
  closed: Promise<number>;
}

/** A raw TCP connection to `url`; `closed` resolves with the ms from connect to close. */
function connect(url: string): Promise<Conn> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    let data = '';
    let t0 = 0;
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - t0)));
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      t0 = performance.now();
      resolve({ socket, data: () => data, closed });
    });
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

async function healthz(c: Conn): Promise<string> {
  const before = c.data().length;
  c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < 100 && !c.data().slice(before).includes('"ok"'); i++) await new Promise((r) => setTimeout(r, 10));
  return c.data().slice(before);
}

describe('public server: timeouts and connection caps', () => {
  it('a client dribbling its headers is cut (408) shortly after gateway.headersTimeoutMs, not after Node\'s ~78 s', async () => {
    const gw = await start({ headersTimeoutMs: 400, requestTimeoutMs: 2000 });
    const c = await connect(gw.localUrl);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const dribble = setInterval(() => {
      if (!c.socket.destroyed) c.socket.write('X-A: b\r\n');
    }, 100);
    const ms = await within(c.closed, 3000);
    clearInterval(dribble);
    expect(ms).not.toBe('pending');
    expect(ms as number).toBeGreaterThanOrEqual(350);
    // The limit plus at most one check interval (headersTimeoutMs / 4 = 100 ms), plus slack for a busy machine.
    expect(ms as number).toBeLessThan(2500);
    expect(c.data()).toMatch(/^HTTP\/1\.1 408/);
    // A connection that sends nothing at all is cut the same way.
    const silent = await connect(gw.localUrl);
    const silentMs = await within(silent.closed, 3000);
    expect(silentMs).not.toBe('pending');
    expect(silentMs as number).toBeLessThan(2500);
  });

  it('the N+1th connection from one address is closed at once, unread; the first N work; a freed slot is usable', async () => {
    const gw = await start({ maxConnectionsPerAddress: 3 });
    const conns = await Promise.all([1, 2, 3].map(() => connect(gw.localUrl)));
    const over = await connect(gw.localUrl);
    over.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within(over.closed, 1000)).not.toBe('pending');
    expect(over.data()).toBe('');
    expect(gw.guard.refused).toBe(1);
    for (const c of conns) expect(await healthz(c)).toMatch(/^HTTP\/1\.1 200/);
    conns[0]!.socket.destroy();
    await conns[0]!.closed;
    await new Promise((r) => setTimeout(r, 20));
    const again = await connect(gw.localUrl);
    expect(await healthz(again)).toMatch(/^HTTP\/1\.1 200/);
    for (const c of [...conns, again]) c.socket.destroy();
  });

  it('trusted proxies are exempt from the per-address cap (a load balancer is many clients)', async () => {
    const gw = await start({ maxConnectionsPerAddress: 2, trustedProxies: ['127.0.0.1'] });
    const conns = await Promise.all([1, 2, 3, 4].map(() => connect(gw.localUrl)));
    for (const c of conns) expect(await healthz(c)).toMatch(/^HTTP\/1\.1 200/);
    expect(gw.guard.refused).toBe(0);
    for (const c of conns) c.socket.destroy();
  });

  it('gateway.maxConnections caps all connections together', async () => {
    const gw = await start({ maxConnections: 2, maxConnectionsPerAddress: 0 });
    const conns = await Promise.all([1, 2].map(() => connect(gw.localUrl)));
    for (const c of conns) expect(await healthz(c)).toMatch(/^HTTP\/1\.1 200/);
    const over = await connect(gw.localUrl);
    over.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within(over.closed, 1000)).not.toBe('pending');
    expect(over.data()).toBe('');
    for (const c of conns) c.socket.destroy();
  });

  it('an idle kept-alive connection closes after gateway.keepAliveTimeoutMs', async () => {
    const gw = await start({ keepAliveTimeoutMs: 300 });
    const c = await connect(gw.localUrl);
    expect(await healthz(c)).toMatch(/^HTTP\/1\.1 200/);
    const ms = await within(c.closed, 3000);
    expect(ms).not.toBe('pending');
    expect(ms as number).toBeGreaterThanOrEqual(250);
  });

  it('a drain keeps idle kept-alive connections open briefly: a request a proxy writes on one then gets an answer (Connection: close), not a reset', async () => {
    // nginx retries a GET on another gateway after a reset, never a POST it has written (502).
    const gw = await start({});
    const c = await connect(gw.localUrl);
    expect(await healthz(c)).toMatch(/^HTTP\/1\.1 200/);
    const stopping = gw.close();
    await new Promise((r) => setTimeout(r, 50));
    const answer = await healthz(c);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(await within(c.closed, 3000)).not.toBe('pending');
    await stopping;
  });
});
