#!/usr/bin/env node
// Where a target spends its CPU under authenticated load: runs it under `node --cpu-prof`,
// drives it with autocannon for DURATION seconds, stops it (the profile is written on exit) and
// prints the top self-time functions and the top files. 127.0.0.1 only, bounded; the
// .cpuprofile goes to a temp dir that is deleted unless --keep names a folder (open it in
// Chrome DevTools or speedscope for a flame graph). Needs `npm run build`.
//   node bench/profile.mjs [--target cookie|access_token|api_token|usual|bare] [--duration 8] [--top 30] [--keep DIR]
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, cleanup, PASSWORD, PrivateRedis, root, signIn, signUp, startChild, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'cookie' },
    duration: { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    top: { type: 'string', default: '30' },
    keep: { type: 'string' },
  },
});
const DURATION = Math.max(1, Math.min(Number(values.duration), 30));
const TOP = Math.min(Number(values.top), 200);
const target = values.target;

/**
 * Inclusive time per function (each sample counted once per function on its stack, so
 * recursion does not double-count), per request: µs of the whole run's samples / requests.
 */
export function inclusivePerRequest(profile, requests, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const weight = new Map();
  for (let i = 0; i < profile.samples.length; i++) weight.set(profile.samples[i], (weight.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  const key = (n) => {
    const cf = n.callFrame;
    const file = cf.url ? relative(root, cf.url.replace(/^file:\/\//, '')).replace(/.*node_modules\//, '') : '';
    return `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
  };
  const incl = new Map();
  const self = new Map();
  for (const [id, us] of weight) {
    const k0 = key(byId.get(id));
    self.set(k0, (self.get(k0) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur));
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + us);
    }
  }
  return [...incl]
    .filter(([k]) => k !== '(root)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => `${(us / requests).toFixed(2).padStart(8)} µs  ${((self.get(k) ?? 0) / requests).toFixed(2).padStart(7)} µs  ${k}`)
    .join('\n');
}

/** Self time per function (and per file) from a V8 .cpuprofile. */
export function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const dts = profile.timeDeltas;
  // Sample weights: the time delta after each sample.
  const weight = new Map();
  for (let i = 0; i < profile.samples.length; i++) weight.set(profile.samples[i], (weight.get(profile.samples[i]) ?? 0) + (dts[i + 1] ?? 0));
  let total = 0;
  for (const [id, us] of weight) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const file = cf.url ? relative(root, cf.url.replace(/^file:\/\//, '')) : '';
    const key = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const files = new Map();
  for (const [key, us] of self) {
    const m = / (.*):\d+$/.exec(key);
    const f = m ? (m[1].includes('node_modules/') ? m[1].replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, 'node_modules/$1') : m[1]) : key;
    files.set(f, (files.get(f) ?? 0) + us);
  }
  const fmt = (list) => list.map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`).join('\n');
  return {
    total,
    functions: fmt([...self].sort((a, b) => b[1] - a[1]).slice(0, top)),
    files: fmt([...files].sort((a, b) => b[1] - a[1]).slice(0, 15)),
  };
}

const dir = values.keep ?? tempDir();
mkdirSync(dir, { recursive: true });
const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
try {
  const upstream = (await startChild(['bench/servers.mjs', 'upstream'])).url;
  let child;
  let url;
  let headers = {};
  if (target === 'bare') {
    child = await startChild([...prof, 'bench/servers.mjs', 'bare-proxy', upstream]);
    url = `${child.url}/api/bench`;
    // The request a cookie target gets (four Gatehouse cookies of the real sizes), as compare.mjs sends it.
    const r43 = () => randomBytes(32).toString('base64url');
    headers = { cookie: `gatehouse_session=${r43()}; gatehouse_csrf=${r43()}; gatehouse_device=${randomBytes(16).toString('base64url')}; gatehouse_known_device=${randomBytes(16).toString('base64url')}.1795605287.${r43()}` };
  } else if (target === 'usual') {
    const redis = new PrivateRedis();
    await redis.start();
    child = await startChild([...prof, 'bench/usual-stack.mjs', upstream, redis.url, 'gh_bench_profile:']);
    const login = await fetch(`${child.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench-user' }) });
    headers = { cookie: login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ') };
    url = `${child.url}/api/bench`;
  } else {
    const routes = { demo: false, routes: [{ path: '/api/bench', upstream, service: 'bench', auth: 'required' }] };
    child = await startChild([...prof, CLI, 'start', '--port', '0'], { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: writeConfig(routes) }, /is up at (http:\/\/\S+)/);
    url = `${child.url}/api/bench`;
    await signUp(child.url, 'bench-user');
    const s = await signIn(child.url, 'bench-user');
    if (target === 'cookie') headers = { cookie: s.cookie };
    else if (target === 'access_token') {
      const body = new URLSearchParams({ grant_type: 'password', username: 'bench-user', password: PASSWORD, device_id: 'bench-at' }).toString();
      const r = await fetch(`${child.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      headers = { authorization: `Bearer ${(await r.json()).access_token}` };
    } else if (target === 'api_token') {
      const r = await fetch(`${child.url}/auth/api-tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf }, body: JSON.stringify({ name: 'bench' }) });
      headers = { authorization: `Bearer ${(await r.json()).token}` };
    } else throw new Error(`unknown --target ${target}`);
  }
  const check = await fetch(url, { headers });
  if (check.status !== 200) throw new Error(`${target}: ${check.status} ${await check.text()}`);
  const r = await autocannon({ url, connections: Number(values.connections), duration: DURATION, headers });
  console.log(`${target}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.non2xx} non-2xx`);
  await child.stop('SIGTERM');
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (did the process exit cleanly?)`);
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const s = summarise(profile, TOP);
  console.log(`\nprofile of the whole process life (${(s.total / 1e6).toFixed(1)} s sampled; start-up included)${values.keep ? `: ${join(dir, file)}` : ''}\n\ntop self time by function:\n${s.functions}\n\nby file / package:\n${s.files}`);
  // Per request: the whole run's samples (start-up included, a few µs) over the requests answered.
  console.log(`\nper request (${r.requests.total} requests; inclusive, then self):\n${inclusivePerRequest(profile, r.requests.total, TOP)}`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
