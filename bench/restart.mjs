// A gateway restarted under load (issue 11 items 11 and 12): one `gatehouse auth` and one
// `gatehouse gateway` on a private PostgreSQL database and a private redis-server; closed-loop
// traffic (cookie, access token, API token in turn) straight at the gateway; SIGTERM, and a new
// gateway process on the same port as soon as the old one has exited (as a process manager
// does). Prints, per build: errors while the old process stops (answers other than 200, cut
// connections), 503s and other errors after the new one starts, connection-refused retries,
// the time from SIGTERM to the first 200 of the new process, and the time until the rolling
// p50 latency is back within 1.5x of the steady p50 (three 250 ms windows in a row).
//
//   node bench/restart.mjs [--rounds 2] [--connections 8] [--warm 3] [--after 8] [--baseline-cli <other build>/packages/server/dist/cli/main.js]
//
// Bounded: rounds × builds × (start-up + warm + after) seconds; 127.0.0.1 only.
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { CLI, cleanup, freePort, masterKey, median, PrivateRedis, privateDatabase, signIn, signUp, sleep, startChild, tempDir, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '8' },
    warm: { type: 'string', default: '3' },
    after: { type: 'string', default: '8' },
    'baseline-cli': { type: 'string' },
  },
});
const ROUNDS = Math.min(10, Number(values.rounds));
const CONNECTIONS = Math.min(64, Number(values.connections));
const WARM_MS = Math.min(30, Number(values.warm)) * 1000;
const AFTER_MS = Math.min(60, Number(values.after)) * 1000;
const WINDOW_MS = 250;

const builds = [{ name: 'this build', cli: CLI }];
if (values['baseline-cli']) builds.push({ name: 'baseline', cli: values['baseline-cli'] });

async function role(cli, name, env, port = 0) {
  const child = await startChild([cli, name, '--port', String(port)], { GATEHOUSE_DATA_DIR: tempDir(), ...env }, /is up at (http:\/\/\S+)/, { timeoutMs: 60_000 });
  return child;
}

async function credentials(base, user) {
  await signUp(base, user);
  const s = await signIn(base, user);
  const tok = await (
    await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: user, password: 'benchmark passphrase 1', device_id: 'bench-tv' }) })
  ).json();
  const api = await (
    await fetch(`${base}/auth/api-tokens`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: s.cookie, 'x-csrf-token': s.csrf }, body: JSON.stringify({ name: 'bench', scopes: ['notes:read'] }) })
  ).json();
  return [
    { kind: 'cookie', headers: { cookie: s.cookie } },
    { kind: 'access_token', headers: { authorization: `Bearer ${tok.access_token}` } },
    { kind: 'api_token', headers: { authorization: `Bearer ${api.token}` } },
  ];
}

async function scenario(build, db, redis) {
  const env = { GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: key, GATEHOUSE_CONFIG: config };
  const auth = await role(build.cli, 'auth', env);
  const gwEnv = { ...env, GATEHOUSE_AUTH_URL: auth.url };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let gw = await role(build.cli, 'gateway', gwEnv, port);
  const creds = await credentials(url, `restart-${Math.random().toString(36).slice(2, 8)}`);

  const agent = new Agent({ keepAliveTimeout: 30_000, connections: CONNECTIONS });
  const samples = []; // [tMs, latencyMs, status]
  const counts = { refused: 0, cutWhileStopping: 0, non200WhileStopping: 0, e503After: 0, otherAfter: 0, cutAfter: 0 };
  const t0 = performance.now();
  let phase = 'warm';
  let stopAt = Infinity;
  let stopped = false;
  const worker = async (w) => {
    let i = w;
    while (!stopped) {
      const c = creds[i++ % creds.length];
      const start = performance.now();
      try {
        const res = await request(`${url}/api/home/whoami`, { headers: c.headers, dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.arrayBuffer();
        const end = performance.now();
        samples.push([end - t0, end - start, res.statusCode]);
        if (res.statusCode !== 200) {
          if (phase === 'stopping') counts.non200WhileStopping++;
          else if (phase === 'after' && res.statusCode === 503) counts.e503After++;
          else if (phase === 'after') counts.otherAfter++;
        }
      } catch (err) {
        if (err.code === 'ECONNREFUSED') {
          counts.refused++;
          await sleep(5);
        } else if (phase === 'stopping') counts.cutWhileStopping++;
        else counts.cutAfter++;
      }
    }
  };
  const workers = Array.from({ length: CONNECTIONS }, (_, w) => worker(w));
  await sleep(WARM_MS);
  const steady = median(samples.filter(([t, , s]) => s === 200 && t > 1000).map(([, l]) => l));

  phase = 'stopping';
  stopAt = performance.now() - t0;
  const code = await gw.stop('SIGTERM');
  const exitedAt = performance.now() - t0;
  phase = 'after';
  gw = await role(build.cli, 'gateway', gwEnv, port);
  const upAt = performance.now() - t0;
  await sleep(AFTER_MS);
  stopped = true;
  await Promise.all(workers);
  await agent.close();
  await gw.stop('SIGTERM');
  await auth.stop('SIGTERM');

  const after = samples.filter(([t]) => t > exitedAt);
  const first200 = after.find(([, , s]) => s === 200)?.[0] ?? NaN;
  // Rolling p50 per window from the first 200 of the new process.
  let fullSpeedAt = NaN;
  let run = 0;
  for (let w = first200; w < performance.now() - t0; w += WINDOW_MS) {
    const lat = after.filter(([t, , s]) => s === 200 && t >= w && t < w + WINDOW_MS).map(([, l]) => l);
    if (lat.length > 0 && median(lat) <= 1.5 * steady) {
      run++;
      if (run === 3) {
        fullSpeedAt = w - 2 * WINDOW_MS;
        break;
      }
    } else run = 0;
  }
  return {
    exitCode: code,
    steadyP50: steady,
    stopMs: exitedAt - stopAt,
    errorsStopping: counts.non200WhileStopping + counts.cutWhileStopping,
    e503After: counts.e503After,
    otherAfter: counts.otherAfter + counts.cutAfter,
    refused: counts.refused,
    newProcessStartMs: upAt - exitedAt,
    firstOkAfterSigtermMs: first200 - stopAt,
    fullSpeedAfterFirstOkMs: fullSpeedAt - first200,
  };
}

const key = masterKey();
const config = writeConfig();
const redis = new PrivateRedis();
try {
  const db = await privateDatabase();
  if (db === null) process.exit(2);
  await redis.start();
  const results = Object.fromEntries(builds.map((b) => [b.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
      const res = await scenario(b, db, redis);
      results[b.name].push(res);
      console.log(`${b.name} round ${r + 1}: ${JSON.stringify(res, (k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);
    }
  }
  console.log('\n| build | exit code | errors while stopping | 503 after restart | other errors after | connection refused (retried) | SIGTERM to exit ms | SIGTERM to first 200 ms | first 200 to full speed ms | steady p50 ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const [name, rs] of Object.entries(results)) {
    const col = (k) => rs.map((x) => (Number.isFinite(x[k]) ? Math.round(x[k] * 10) / 10 : String(x[k]))).join(' / ');
    console.log(`| ${name} | ${col('exitCode')} | ${col('errorsStopping')} | ${col('e503After')} | ${col('otherAfter')} | ${col('refused')} | ${col('stopMs')} | ${col('firstOkAfterSigtermMs')} | ${col('fullSpeedAfterFirstOkMs')} | ${col('steadyP50')} |`);
  }
} finally {
  await redis.kill();
  await cleanup();
}
