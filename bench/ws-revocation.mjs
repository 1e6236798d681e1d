#!/usr/bin/env node
// WebSocket live revocation (issue 16 part 2): time from the sign-out's 204 to the client's
// `close` event (code 1008) of a WebSocket the signed-out session holds open through the gateway,
// to a `ws` upstream in this process (127.0.0.1). Three set-ups, N sign-outs each:
//   1. one `gatehouse start` (SQLite, no Redis): socket and sign-out on the same gateway;
//   2. one `gatehouse auth` and two `gatehouse gateway`s on a private PostgreSQL database and a
//      private redis-server: socket on gateway B, sign-out on gateway A (pub/sub);
//   3. the same with Redis SIGKILLed (gateways poll PostgreSQL; each sign-out after a random
//      0-600 ms pause, at a random phase of the 500 ms poll cycle).
// A close that arrives before the 204 counts as 0 ms (counted apart); the time from sending the
// sign-out to the close (always positive: it includes the sign-out itself) is printed too. Bounded: 3 x N sign-outs,
// each close waited for at most 3 s. Needs `npm run build`; set-ups 2 and 3 need PostgreSQL on
// 127.0.0.1:5432 and redis-server on PATH (skipped with a message otherwise).
//   node bench/ws-revocation.mjs [--signouts 30]
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { cleanup, freePort, masterKey, PrivateRedis, privateDatabase, quantiles, signIn, signUp, sleep, startRole, writeConfig } from './cluster.mjs';

const { values } = parseArgs({ options: { signouts: { type: 'string', default: '30' } } });
const N = Math.max(1, Math.min(Number(values.signouts), 200));
const LIMIT_MS = 3000;

/** A `ws` echo upstream on 127.0.0.1. */
async function upstream() {
  const server = createServer((_req, res) => res.end('ok'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (d) => ws.send(d));
    ws.on('error', () => undefined);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Opens a WebSocket through `base` with the session's cookie; resolves once an echo came back. */
function open(base, s, origin) {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/live/room`, { headers: { cookie: s.cookie, origin } });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no echo in time')), 5000);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
    ws.once('open', () => ws.send('hi'));
    ws.once('message', () => {
      clearTimeout(t);
      resolve(ws);
    });
  });
}

async function phase(name, socketBase, signoutBase, origin, sessions, jitterMs = 0) {
  const delays = [];
  const fromSend = [];
  let early = 0;
  let wrong = 0;
  for (const s of sessions) {
    if (jitterMs) await sleep(Math.random() * jitterMs);
    const ws = await open(socketBase, s, origin);
    let closedAt = Infinity;
    let code = 0;
    const gone = new Promise((resolve) => {
      const t = setTimeout(resolve, LIMIT_MS + 1000);
      ws.once('close', (c) => {
        closedAt = performance.now();
        code = c;
        clearTimeout(t);
        resolve();
      });
    });
    const sent = performance.now();
    const out = await fetch(`${signoutBase}/auth/signout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    const t204 = performance.now();
    if (out.status !== 204) throw new Error(`${name}: sign-out answered ${out.status} ${await out.text()}`);
    await gone;
    if (code !== 1008) wrong++;
    const ms = closedAt - t204;
    if (ms <= 0) early++;
    delays.push(ms > LIMIT_MS ? Infinity : Math.max(0, ms));
    fromSend.push(closedAt - sent);
    ws.terminate();
  }
  const q = quantiles(delays);
  const s = quantiles(fromSend);
  const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : `>${LIMIT_MS}`);
  console.log(`${name.padEnd(44)} n=${q.n}  from the 204: p50 ${f(q.p50)} ms  p90 ${f(q.p90)} ms  p99 ${f(q.p99)} ms  max ${f(q.max)} ms  (closed before the 204 arrived: ${early}; not 1008: ${wrong})`);
  console.log(`${''.padEnd(44)}        from sending the sign-out: p50 ${f(s.p50)} ms  p90 ${f(s.p90)} ms  p99 ${f(s.p99)} ms  max ${f(s.max)} ms`);
  return q;
}

try {
  const up = await upstream();
  const routes = [{ path: '/api/live', upstream: up.url, service: 'live' }];
  console.log(`WebSocket live revocation: sign-out 204 -> client close (1008) (${new Date().toISOString()}, node ${process.version}, ${N} sign-outs per row)`);

  // 1. One process, no Redis.
  const single = await startRole('start', { GATEHOUSE_CONFIG: writeConfig({ routes }) });
  await signUp(single.url, 'bench-ws');
  const singleSessions = [];
  for (let i = 0; i < N; i++) singleSessions.push(await signIn(single.url, 'bench-ws'));
  const one = await phase('gatehouse start (one process, no Redis)', single.url, single.url, new URL(single.url).origin, singleSessions);
  await single.stop?.();

  // 2 and 3. Two gateways on PostgreSQL + Redis.
  const db = await privateDatabase();
  if (!db) {
    console.log('PostgreSQL not reachable: the two-instance rows are skipped');
  } else {
    const redis = new PrivateRedis();
    await redis.start();
    const [authPort, portA] = await Promise.all([freePort(), freePort()]);
    const origin = `http://127.0.0.1:${portA}`;
    const env = { GATEHOUSE_DATABASE_URL: db, GATEHOUSE_REDIS_URL: redis.url, GATEHOUSE_MASTER_KEY: masterKey(), GATEHOUSE_CONFIG: writeConfig({ routes }), GATEHOUSE_PUBLIC_URL: origin };
    const auth = await startRole('auth', env, authPort);
    const gwEnv = { ...env, GATEHOUSE_AUTH_URL: auth.url };
    const [gwA, gwB] = await Promise.all([startRole('gateway', gwEnv, portA), startRole('gateway', gwEnv)]);
    await signUp(gwA.url, 'bench-ws');
    const sessions = [];
    for (let i = 0; i < 2 * N; i++) sessions.push(await signIn(gwA.url, 'bench-ws'));
    const withRedis = await phase('two gateways, Redis up (socket B, sign-out A)', gwB.url, gwA.url, origin, sessions.slice(0, N));
    await redis.kill('SIGKILL');
    await sleep(2000); // both gateways have noticed (heartbeat) and poll PostgreSQL
    const polling = await phase('two gateways, Redis SIGKILLed (PG polling)', gwB.url, gwA.url, origin, sessions.slice(N), 600);
    console.log('');
    console.log(`goal: < 100 ms p50 with Redis (p50 ${withRedis.p50.toFixed(1)} ms), < 2000 ms without (one process p50 ${one.p50.toFixed(1)} ms; PG polling p50 ${Number.isFinite(polling.p50) ? polling.p50.toFixed(0) : '>3000'} ms, max ${Number.isFinite(polling.max) ? polling.max.toFixed(0) : '>3000'} ms)`);
  }
  await up.close();
} finally {
  await cleanup();
}
