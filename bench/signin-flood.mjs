#!/usr/bin/env node
// A sign-in flood against `gatehouse start` (embedded) on 127.0.0.1 (issue 11 item 4): FLOOD
// concurrent sign-ins of unknown usernames, each from its own X-Forwarded-For address (the
// gateway trusts 127.0.0.1 as its proxy, so every address has its own per-IP budget and none
// is over it), and meanwhile a real user's sign-in from a browser that signed in before
// (known-device cookie), and one without that cookie. Per round it measures:
//   - the real user's known-device sign-in time (from just after the flood is sent), and the
//     same user's sign-in without the cookie (status and time);
//   - the flood's answers: how many were checked (401), refused at once (503 busy) or limited
//     (429), the refusals' latency and the time until the last checked answer.
// A quiet sign-in before each round gives the hash-bound time of one sign-in for scale.
// `--cli <other build>/packages/server/dist/cli/main.js` runs another build (before/after:
// the same script, same machine, one after the other). Bounded: ROUNDS x flood sizes, each
// flood at most 500 requests, each round waits for the flood to end; a watchdog stops it all.
//   node bench/signin-flood.mjs [--flood 100[,300]] [--rounds 3] [--cli PATH] [--max-wait-ms N] [--max-hashes N]
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { CLI, cleanup, PASSWORD, quantiles, signUp, sleep, startChild, tempDir, threadCpuNs, writeConfig } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    flood: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    cli: { type: 'string' },
    'max-wait-ms': { type: 'string' },
    'max-hashes': { type: 'string' },
  },
});
const FLOODS = values.flood.split(',').map((n) => Math.max(1, Math.min(Number(n), 500)));
const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 10));
const cli = values.cli ?? CLI;
if (!existsSync(cli)) {
  console.error(`no built CLI at ${cli} (npm run build, or tsc -b in that checkout)`);
  process.exit(2);
}

const watchdog = setTimeout(
  () => {
    console.error('signin-flood.mjs: over its time budget; stopping');
    void cleanup().then(() => process.exit(1));
  },
  (ROUNDS * FLOODS.length * 90 + 120) * 1000,
);
watchdog.unref();
process.on('unhandledRejection', (err) => {
  console.error(err);
  void cleanup().then(() => process.exit(1));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void cleanup().then(() => process.exit(130)));

// One connection per flood request: a browser each, not a queue in the client.
const agent = new Agent({ connections: 1024, pipelining: 0 });
const f = (x) => (x === undefined || x === null ? '—' : x.toFixed(1));

/** One POST /auth/signin; resolves with status, time (ms from `t0`, default its own start) and Retry-After. */
async function post(base, body, headers = {}, t0 = performance.now()) {
  const r = await request(`${base}/auth/signin`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  await r.body.arrayBuffer();
  const setCookie = r.headers['set-cookie'];
  return { status: r.statusCode, ms: performance.now() - t0, retryAfter: r.headers['retry-after'], setCookie: Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [] };
}

try {
  const config = { gateway: { trustedProxies: ['127.0.0.1'] }, signin: { perIpPerMinute: 30 } };
  const password = {};
  if (values['max-wait-ms']) password.maxHashWaitMs = Number(values['max-wait-ms']);
  if (values['max-hashes']) password.maxConcurrentHashes = Number(values['max-hashes']);
  if (Object.keys(password).length) config.password = password;
  const gw = await startChild([cli, 'start', '--port', '0'], { GATEHOUSE_DATA_DIR: tempDir(), GATEHOUSE_CONFIG: writeConfig(config) }, /is up at (http:\/\/\S+)/);
  const base = gw.url;

  await signUp(base, 'real-user');
  const first = await post(base, { username: 'real-user', password: PASSWORD }, { 'x-forwarded-for': '192.0.2.10' });
  if (first.status !== 200) throw new Error(`real-user sign-in: ${first.status}`);
  const knownDevice = first.setCookie.map((c) => c.split(';')[0]).find((c) => /^(__Secure-)?gatehouse_known_device=/.test(c));
  if (!knownDevice) throw new Error('no known-device cookie after sign-in');

  const rows = [];
  let ipSeq = 0;
  for (const FLOOD of FLOODS) {
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(500);
      const quiet = await post(base, { username: 'real-user', password: PASSWORD }, { cookie: knownDevice, 'x-forwarded-for': '192.0.2.10' });
      if (quiet.status !== 200) throw new Error(`quiet sign-in: ${quiet.status}`);

      const cpu0 = threadCpuNs(gw.proc.pid);
      const t0 = performance.now();
      const flood = Array.from({ length: FLOOD }, (_, i) => {
        const n = ipSeq++;
        return post(base, { username: `flood-${FLOOD}-${round}-${i}`, password: 'not the password' }, { 'x-forwarded-for': `198.18.${(n >> 8) & 255}.${n & 255}` }, t0);
      });
      // Let the flood reach the gateway first, as it would when a real user arrives mid-flood.
      await sleep(20);
      const [known, plain] = await Promise.all([
        post(base, { username: 'real-user', password: PASSWORD }, { cookie: knownDevice, 'x-forwarded-for': '192.0.2.10' }),
        post(base, { username: 'real-user', password: PASSWORD }, { 'x-forwarded-for': '192.0.2.11' }),
      ]);
      const answers = await Promise.all(flood);
      const cpu1 = threadCpuNs(gw.proc.pid);
      if (known.status !== 200) console.log(`  known-device sign-in answered ${known.status}`);
      const checked = answers.filter((a) => a.status === 401);
      const refused = answers.filter((a) => a.status === 503);
      const limited = answers.filter((a) => a.status === 429);
      const other = answers.length - checked.length - refused.length - limited.length;
      const row = {
        flood: FLOOD,
        quiet: quiet.ms,
        known: known.ms,
        knownStatus: known.status,
        plain: plain.ms,
        plainStatus: plain.status,
        plainRetry: plain.retryAfter,
        checked: checked.length,
        refused: refused.length,
        limited: limited.length,
        other,
        refusedP50: refused.length ? quantiles(refused.map((a) => a.ms)).p50 : undefined,
        refusedMax: refused.length ? quantiles(refused.map((a) => a.ms)).max : undefined,
        retryAfter: refused.length ? refused[0].retryAfter : undefined,
        lastChecked: checked.length ? Math.max(...checked.map((a) => a.ms)) : undefined,
        // Event-loop CPU per request of the round (gateway + auth service main thread; the hashes run on threads of their own).
        mainCpuPerRequest: cpu0 && cpu1 ? (cpu1.main - cpu0.main) / 1e6 / (FLOOD + 2) : undefined,
      };
      rows.push(row);
      console.log(
        `flood ${FLOOD} round ${round + 1}: known-device sign-in ${f(row.known)} ms (${row.knownStatus}; quiet ${f(row.quiet)} ms); without the cookie ${row.plainStatus} in ${f(row.plain)} ms; ` +
          `flood: ${row.checked} checked (last at ${f(row.lastChecked)} ms), ${row.refused} refused 503 (p50 ${f(row.refusedP50)} ms, max ${f(row.refusedMax)} ms, Retry-After ${row.retryAfter ?? '—'}), ${row.limited} 429${other ? `, ${other} other` : ''}; main-thread CPU ${f(row.mainCpuPerRequest)} ms a request`,
      );
    }
  }

  const med = (list, pick) => {
    const v = list.map(pick).filter((x) => typeof x === 'number').sort((x, y) => x - y);
    return v.length ? v[Math.floor(v.length / 2)] : undefined;
  };
  console.log('');
  console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}; CLI ${cli}; ${new Date().toISOString()}`);
  console.log('');
  console.log(`| flood (concurrent unknown-user sign-ins, each its own address) | quiet sign-in ms | **known-device sign-in ms** | without the cookie: status, ms | flood checked (401) | flood refused (503) | refusal p50 / max ms | last checked answer ms | main-thread CPU ms a request |`);
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const FLOOD of FLOODS) {
    const l = rows.filter((r) => r.flood === FLOOD);
    const statuses = [...new Set(l.map((r) => r.plainStatus))].join('/');
    console.log(
      `| ${FLOOD} | ${f(med(l, (r) => r.quiet))} | **${f(med(l, (r) => r.known))}** | ${statuses}, ${f(med(l, (r) => r.plain))} | ${med(l, (r) => r.checked)} | ${med(l, (r) => r.refused)} | ${f(med(l, (r) => r.refusedP50))} / ${f(med(l, (r) => r.refusedMax))} | ${f(med(l, (r) => r.lastChecked))} | ${f(med(l, (r) => r.mainCpuPerRequest))} |`,
    );
  }
  console.log('');
  console.log(`(medians over ${ROUNDS} rounds; times from when the flood was sent, the real user's 20 ms later)`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await agent.close();
  await cleanup();
}
