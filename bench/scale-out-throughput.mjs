#!/usr/bin/env node
// Authenticated cookie requests per second through: the bare proxy hop (node:http + undici, no
// auth), Gatehouse embedded (`gatehouse start`, SQLite), and Gatehouse scale-out (`gatehouse
// gateway` + `gatehouse auth` on a private PostgreSQL database and a private redis-server),
// measured in ONE interleaved run on 127.0.0.1, same upstream, ratios to bare.
// Bounded: ROUNDS x 3 targets x DURATION seconds (at most 10 x 3 x 30 s) plus one warm-up each.
// Needs `npm run build`, PostgreSQL on 127.0.0.1:5432 and redis-server on PATH.
//   node bench/scale-out-throughput.mjs [--duration 5] [--rounds 3] [--connections 32]
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { cleanup, freePort, masterKey, PrivateRedis, privateDatabase, signIn, signUp, startChild, startRole, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '32' } } });
const DURATION = Math.min(Number(values.duration), 30);
const ROUNDS = Math.min(Number(values.rounds), 10);
const CONNECTIONS = Math.min(Number(values.connections), 256);

function cannon(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

try {
  const db = await privateDatabase();
  if (!db) process.exit(1);
  const redis = new PrivateRedis();
  await redis.start();
  const upstream = (await startChild(['bench/servers.mjs', 'upstream'])).url;
  const bare = (await startChild(['bench/servers.mjs', 'bare-proxy', upstream])).url;
  const routes = { demo: false, routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required' }] };

  const embedded = await startRole('start', { GATEHOUSE_CONFIG: writeConfig(routes), GATEHOUSE_DATA_DIR: tempDir() });
  const portGw = await freePort();
  const env = { GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: masterKey(), GATEHOUSE_CONFIG: writeConfig(routes), GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${portGw}` };
  const auth = await startRole('auth', env);
  const gw = await startRole('gateway', { ...env, GATEHOUSE_AUTH_URL: auth.url }, portGw);

  await signUp(embedded.url, 'bench-user');
  await signUp(gw.url, 'bench-user');
  const sEmbedded = await signIn(embedded.url, 'bench-user');
  const sScale = await signIn(gw.url, 'bench-user');
  const targets = [
    ['bare', `${bare}/api/bench`, {}],
    ['embedded', `${embedded.url}/api/bench`, { cookie: sEmbedded.cookie }],
    ['scaleout', `${gw.url}/api/bench`, { cookie: sScale.cookie }],
  ];
  for (const [name, url, headers] of targets) {
    const check = await fetch(url, { headers }).catch((err) => {
      throw new Error(`${name} (${url}): ${err.cause?.message ?? err.message}`);
    });
    if (check.status !== 200) throw new Error(`${name}: authenticated request failed: ${check.status} ${await check.text()}`);
    await cannon(url, headers); // warm-up: JIT, keep-alive pools, caches
  }

  console.log(`cookie requests per second, ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION}s interleaved (${new Date().toISOString()}, node ${process.version})`);
  const totals = {};
  const lat = {};
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, url, headers] of [...targets.slice(i % targets.length), ...targets.slice(0, i % targets.length)]) {
      const r = await cannon(url, headers);
      if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      (totals[name] ??= []).push(r.requests.average);
      (lat[name] ??= []).push(r.latency);
      console.log(`round ${i + 1} ${name.padEnd(9)} ${Math.round(r.requests.average)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms`);
    }
  }
  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const b = mean(totals.bare);
  const labels = {
    bare: 'bare proxy hop (node:http + undici, no auth)',
    embedded: 'gatehouse start, SQLite (embedded), cookie',
    scaleout: 'gatehouse gateway, PostgreSQL + Redis, cookie',
  };
  console.log('');
  for (const name of Object.keys(labels)) {
    const m = mean(totals[name]);
    console.log(`${labels[name].padEnd(47)} ${String(Math.round(m)).padStart(7)} req/s  p50 ${median(lat[name].map((l) => l.p50))} ms  p99 ${median(lat[name].map((l) => l.p99))} ms  ratio to bare ${(m / b).toFixed(3)}`);
  }
  console.log(`ratio scale-out / embedded: ${(mean(totals.scaleout) / mean(totals.embedded)).toFixed(3)}`);
} finally {
  await cleanup();
}
