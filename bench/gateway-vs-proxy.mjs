#!/usr/bin/env node
// Authenticated requests through the Gatehouse gateway vs. the same requests through a bare
// node:http + undici proxy hop (no authentication), measured in ONE interleaved run on
// 127.0.0.1: a session cookie, a bearer access token (JWT) and a bearer API token (gh_…).
// Bounded: ROUNDS x 4 targets x DURATION seconds (at most 10 x 4 x 30 s). Needs `npm run build`.
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
  const { csrf_token: csrf } = await signin.json();
  const made = await fetch(`${gw}/auth/api-tokens`, { method: 'POST', headers: { ...json, cookie, 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'bench' }) });
  if (made.status !== 201) throw new Error(`API token creation failed: ${made.status} ${await made.text()}`);
  const { token: apiToken } = await made.json();
  /** A fresh access token (10 min) for each round, so no run outlives its token. */
  const accessToken = async () => {
    const body = new URLSearchParams({ grant_type: 'password', ...creds, device_id: 'bench' }).toString();
    const r = await fetch(`${gw}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    if (r.status !== 200) throw new Error(`token grant failed: ${r.status} ${await r.text()}`);
    return (await r.json()).access_token;
  };

  const targets = async () => {
    const at = await accessToken();
    return [
      ['bare', `${bare}/api/bench`, {}],
      ['cookie', `${gw}/api/bench`, { cookie }],
      ['access_token', `${gw}/api/bench`, { authorization: `Bearer ${at}` }],
      ['api_token', `${gw}/api/bench`, { authorization: `Bearer ${apiToken}` }],
    ];
  };
  for (const [name, url, headers] of await targets()) {
    const check = await fetch(url, { headers });
    if (check.status !== 200) throw new Error(`${name}: authenticated request failed: ${check.status}`);
    // Warm up every path (JIT, keep-alive pools, caches).
    await cannon(url, headers);
  }

  const totals = {};
  const lat = {};
  for (let i = 0; i < ROUNDS; i++) {
    // Rotate the order every round, so no target always runs right after another.
    const list = await targets();
    for (const [name, url, headers] of [...list.slice(i % list.length), ...list.slice(0, i % list.length)]) {
      const r = await cannon(url, headers);
      if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      (totals[name] ??= []).push(r.requests.average);
      (lat[name] ??= []).push(r.latency);
      console.log(`round ${i + 1} ${name.padEnd(12)} ${Math.round(r.requests.average)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms`);
    }
  }
  const mean = (a) => a.reduce((s, x) => s + x, 0) / a.length;
  const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const b = mean(totals.bare);
  const labels = {
    bare: 'bare proxy hop (node:http + undici, no auth)',
    cookie: 'gatehouse, session cookie',
    access_token: 'gatehouse, bearer access token (JWT)',
    api_token: 'gatehouse, bearer API token (gh_)',
  };
  console.log('');
  for (const name of Object.keys(labels)) {
    const m = mean(totals[name]);
    const p50 = median(lat[name].map((l) => l.p50));
    const p99 = median(lat[name].map((l) => l.p99));
    console.log(`${labels[name].padEnd(46)} ${String(Math.round(m)).padStart(7)} req/s  p50 ${p50} ms  p99 ${p99} ms  ratio to bare ${(m / b).toFixed(3)}`);
  }
  console.log('');
  console.log(`ratio gatehouse / bare: ${(mean(totals.cookie) / b).toFixed(3)} cookie, ${(mean(totals.access_token) / b).toFixed(3)} access token, ${(mean(totals.api_token) / b).toFixed(3)} API token`);
  console.log(`(goal >= 0.90; ${CONNECTIONS} connections, ${ROUNDS} x ${DURATION}s interleaved, p50/p99 are medians over rounds, ${new Date().toISOString()})`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
