#!/usr/bin/env node
// Latency through a PostgreSQL hang (issue 11 item 14): `gatehouse start` on PostgreSQL + Redis
// (a private database and a private redis-server), reached through a loopback TCP proxy that
// the bench freezes (connections stay open, nothing is answered: what SIGSTOP of the server
// looks like to a client). Signed-in traffic of sessions in the hot copy, uncached requests and
// /readyz are timed while it hangs. Bounded: --duration seconds of hang, --workers concurrent
// signed-in clients. 127.0.0.1 only.
//
//   node bench/pg-hang.mjs [--duration 10] [--workers 4] [--sessions 20] [--cache-ttl-ms 1000] [--cli <build>/packages/server/dist/cli/main.js]
//
// --cache-ttl-ms (session.cacheTtlMs) is short so that sessions fall out of the gateway's memory
// trust during the hang and go to the hot copy and the store, the case that stalled.
import { createServer, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { CLI, PrivateRedis, cleanup, masterKey, privateDatabase, quantiles, signIn, signUp, sleep, startChild, tempDir, writeConfig } from './cluster.mjs';

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    workers: { type: 'string', default: '4' },
    sessions: { type: 'string', default: '20' },
    'cache-ttl-ms': { type: 'string', default: '1000' },
    cli: { type: 'string', default: CLI },
  },
});
const durationMs = Math.min(60, Number(opts.duration)) * 1000;
const workers = Math.min(16, Number(opts.workers));
const sessions = Math.min(200, Number(opts.sessions));

/** A loopback proxy to PostgreSQL that can freeze: bytes stop flowing both ways, sockets stay open. */
async function freezableProxy(target) {
  let frozen = false;
  const sockets = new Set();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('error', () => client.destroy());
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const held = [];
    client.on('data', (d) => (frozen ? held.push(d) : upstream.write(d)));
    upstream.on('data', (d) => {
      if (!frozen) client.write(d);
      else held.push(null); // answers to a frozen server's clients never come
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    freeze: () => (frozen = true),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

async function timedGet(url, headers) {
  const t0 = performance.now();
  const r = await request(url, { headers, headersTimeout: 30_000 });
  await r.body.arrayBuffer();
  return { status: r.statusCode, ms: performance.now() - t0 };
}

function fmt(label, samples) {
  if (samples.length === 0) return `${label}: none`;
  const q = quantiles(samples.map((s) => s.ms));
  const statuses = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return `${label}: n=${q.n} p50=${q.p50.toFixed(1)} ms p90=${q.p90.toFixed(1)} ms p99=${q.p99.toFixed(1)} ms max=${q.max.toFixed(1)} ms statuses=${JSON.stringify(statuses)}`;
}

try {
  const dbUrl = await privateDatabase();
  if (dbUrl === null) process.exit(2);
  const target = new URL(dbUrl);
  const proxy = await freezableProxy(target);
  const viaProxy = new URL(dbUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const redis = new PrivateRedis();
  await redis.start();
  const config = writeConfig({ session: { cacheTtlMs: Number(opts['cache-ttl-ms']) } });
  const gh = await startChild(
    [opts.cli, 'start', '--port', '0'],
    { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: config, GATEHOUSE_DATABASE_URL: viaProxy.toString(), GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: masterKey() },
    /is up at (http:\/\/\S+)/,
  );
  const base = gh.url;
  console.log(`gatehouse start (${opts.cli}) at ${base}; PostgreSQL through a freezable proxy; session.cacheTtlMs=${opts['cache-ttl-ms']}`);

  const cookies = [];
  for (let i = 0; i < sessions; i++) {
    const name = `hang-${randomBytes(4).toString('hex')}`;
    await signUp(base, name);
    cookies.push((await signIn(base, name)).cookie);
  }
  for (const cookie of cookies) {
    const r = await timedGet(`${base}/api/home/whoami`, { cookie });
    if (r.status !== 200) throw new Error(`warm-up: ${r.status}`);
  }

  proxy.freeze();
  const t0 = Date.now();
  const end = t0 + durationMs;
  const signedIn = [];
  const uncached = [];
  const readyz = [];
  let next = 0;
  const worker = async () => {
    while (Date.now() < end) signedIn.push(await timedGet(`${base}/api/home/whoami`, { cookie: cookies[next++ % cookies.length] }));
  };
  const uncachedLoop = async () => {
    while (Date.now() < end) {
      uncached.push(await timedGet(`${base}/api/home/whoami`, { cookie: `gatehouse_session=${randomBytes(32).toString('base64url')}` }));
      await sleep(100);
    }
  };
  const readyLoop = async () => {
    while (Date.now() < end) {
      readyz.push(await timedGet(`${base}/readyz`, {}));
      await sleep(250);
    }
  };
  await Promise.all([...Array.from({ length: workers }, worker), uncachedLoop(), readyLoop()]);
  console.log(`PostgreSQL frozen for ${((Date.now() - t0) / 1000).toFixed(1)} s, ${workers} signed-in clients over ${sessions} sessions:`);
  console.log(fmt('  signed-in (hot copy)', signedIn));
  console.log(fmt('  uncached cookie     ', uncached));
  console.log(fmt('  /readyz             ', readyz));
  await proxy.close();
} finally {
  await cleanup();
}
