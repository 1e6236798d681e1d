#!/usr/bin/env node
// Authenticated cookie requests through the Gatehouse gateway vs. the same requests through a
// bare node:http + undici proxy hop (no authentication), measured in ONE interleaved run on
// 127.0.0.1. Bounded: ROUNDS x 2 targets x DURATION seconds. Needs `npm run build` first.
//   node bench/gateway-vs-proxy.mjs [--duration 5] [--rounds 3] [--connections 32]
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '5' }, rounds: { type: 'string', default: '3' }, connections: { type: 'string', default: '32' } } });
const DURATION = Math.min(Number(values.duration), 30);
const ROUNDS = Math.min(Number(values.rounds), 10);
const CONNECTIONS = Math.min(Number(values.connections), 256);
const root = new URL('..', import.meta.url).pathname;
const children = [];

function startChild(args, env = {}, pattern = /URL (http:\/\/\S+)/) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(p);
    let out = '';
    const t = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${out}`)), 30_000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    p.once('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}: ${out}`)));
  });
}

function cannon(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers, pipelining: 1 }, (err, r) => (err ? reject(err) : resolve(r)));
  });
}

const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
try {
  const upstream = await startChild(['bench/servers.mjs', 'upstream']);
  const bare = await startChild(['bench/servers.mjs', 'bare-proxy', upstream]);
  const cfg = join(dataDir, 'gatehouse.json');
  writeFileSync(cfg, JSON.stringify({ demo: false, routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required' }] }));
  const gw = await startChild(['packages/server/dist/cli/main.js', 'start'], { GATEHOUSE_PORT: '0', GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: cfg, GATEHOUSE_LOG_LEVEL: 'warn' }, /is up at (http:\/\/\S+)/);

  const creds = { username: 'bench-user', password: 'benchmark passphrase 1' };
  const json = { 'content-type': 'application/json' };
  await fetch(`${gw}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify(creds) });
  const signin = await fetch(`${gw}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify(creds) });
  if (signin.status !== 200) throw new Error(`sign-in failed: ${signin.status} ${await signin.text()}`);
  const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const check = await fetch(`${gw}/api/bench`, { headers: { cookie } });
  if (check.status !== 200) throw new Error(`authenticated request failed: ${check.status}`);

  // Warm up both paths (JIT, keep-alive pools, caches).
  await cannon(`${bare}/api/bench`, {});
  await cannon(`${gw}/api/bench`, { cookie });

  const totals = { bare: [], gatehouse: [] };
  const lat = { bare: [], gatehouse: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, url, headers] of [['bare', `${bare}/api/bench`, {}], ['gatehouse', `${gw}/api/bench`, { cookie }]]) {
      const r = await cannon(url, headers);
      if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      totals[name].push(r.requests.average);
      lat[name].push(r.latency);
      console.log(`round ${i + 1} ${name.padEnd(9)} ${Math.round(r.requests.average)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms`);
    }
  }
  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  const b = mean(totals.bare);
  const g = mean(totals.gatehouse);
  console.log('');
  console.log(`bare proxy hop (node:http + undici, no auth): ${Math.round(b)} req/s`);
  console.log(`gatehouse, authenticated cookie request:      ${Math.round(g)} req/s`);
  console.log(`ratio gatehouse / bare: ${(g / b).toFixed(3)}  (goal >= 0.90; ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION}s interleaved, ${new Date().toISOString()})`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
