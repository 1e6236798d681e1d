// Per-request cost of the gateway's header hygiene (strip() on a browser cookie request, and
// relayedResponseHeaders() on an upstream answer without and with Set-Cookie), this build
// against another one, in interleaved rounds in one process (median ns per call).
//
//   node bench/hygiene-micro.mjs --baseline <other build>/packages/server/dist [--rounds 21] [--n 200000]
//
// Make the other build as DEVELOPERS.md says (git worktree add /tmp/base <commit>, symlink
// node_modules, npx tsc -b packages/sdk packages/demo-services packages/server). Pure CPU, no
// sockets; ~1 min. On a busy box compare the ratios, not the nanoseconds.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '21' }, n: { type: 'string', default: '200000' } } });
if (!values.baseline) {
  console.error('usage: node bench/hygiene-micro.mjs --baseline <other build>/packages/server/dist');
  process.exit(2);
}
const THIS = fileURLToPath(new URL('../packages/server/dist', import.meta.url));
const ROUNDS = Math.max(3, Math.min(Number(values.rounds), 101));
const N = Math.max(10_000, Math.min(Number(values.n), 2_000_000));

async function load(root) {
  const strip = await import(`${root}/gateway/pipeline/strip/strip.js`);
  // Since issue 13 the identity-header rules live in pipeline/headers.js and the answer side in
  // pipeline/respond/relay.js; an older baseline has both in strip.js.
  const headers = await import(`${root}/gateway/pipeline/headers.js`).catch(() => strip);
  const relay = await import(`${root}/gateway/pipeline/respond/relay.js`).catch(() => strip);
  return {
    strip: { strip: strip.strip, compileStripRules: headers.compileStripRules, relayedResponseHeaders: relay.relayedResponseHeaders },
    exchange: await import(`${root}/gateway/exchange.js`),
    clientIp: await import(`${root}/gateway/client-ip.js`),
    defaults: (await import(`${root}/config/defaults.js`)).DEFAULTS,
    hostPolicy: await import(`${root}/gateway/host-policy.js`).catch(() => null),
  };
}

const builds = { this: await load(THIS), baseline: await load(values.baseline) };
const names = { session: 'gatehouse_session', csrf: 'gatehouse_csrf', device: 'gatehouse_device', knownDevice: 'gatehouse_known_device' };
const rawHeaders = ['Host', '127.0.0.1:8080', 'User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120', 'Accept', 'application/json', 'Accept-Language', 'en-US,en;q=0.9', 'Accept-Encoding', 'gzip, deflate, br', 'Cookie', 'theme=dark; gatehouse_session=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG; gatehouse_csrf=xyz', 'Connection', 'keep-alive', 'Sec-Fetch-Site', 'same-origin', 'Referer', 'http://127.0.0.1:8080/notes'];
const req = { rawHeaders, socket: { remoteAddress: '127.0.0.1' } };
const route = { authService: false };
const answer = () => ({ 'content-type': 'application/json; charset=utf-8', 'content-length': '123', date: 'Sun, 06 Dec 2026 04:00:00 GMT', connection: 'keep-alive', 'keep-alive': 'timeout=72', etag: 'W/"7b-abc"', 'cache-control': 'no-store', 'x-request-id': 'req-1' });
const answerWithCookies = () => ({ ...answer(), 'set-cookie': ['pref=1; Path=/', 'lang=en; Path=/'] });
const listener = { headerDropped() {} };
let sink = 0;

const cases = {};
for (const [label, b] of Object.entries(builds)) {
  const rules = b.strip.compileStripRules(b.defaults.gateway.stripHeaders);
  const config = structuredClone(b.defaults);
  config.publicUrl = 'http://127.0.0.1:8080';
  const opts = { proto: 'http', defaultHost: '127.0.0.1:8080', cookies: names, clientIp: new b.clientIp.ClientIpResolver([], 'x-forwarded-for') };
  if (b.hostPolicy) opts.hosts = new b.hostPolicy.HostPolicy(config);
  // The baseline's relayedResponseHeaders takes the headers only; extra arguments are ignored.
  cases[`strip ${label}`] = () => {
    for (let i = 0; i < N; i++) {
      const ex = new b.exchange.Exchange(req, {}, route, '/api/notes');
      b.strip.strip(ex, rules, opts);
      sink += ex.headers.length;
    }
  };
  cases[`relay ${label}`] = () => {
    for (let i = 0; i < N; i++) sink += b.strip.relayedResponseHeaders(answer(), rules, false, listener).length;
  };
  cases[`relay+set-cookie ${label}`] = () => {
    for (let i = 0; i < N; i++) sink += b.strip.relayedResponseHeaders(answerWithCookies(), rules, false, listener).length;
  };
}
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [k, f] of Object.entries(cases)) {
    const t = process.hrtime.bigint();
    f();
    times[k].push(Number(process.hrtime.bigint() - t) / N);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`${ROUNDS} interleaved rounds of ${N} calls; median ns per call`);
for (const what of ['strip', 'relay', 'relay+set-cookie']) {
  const a = median(times[`${what} this`]);
  const b = median(times[`${what} baseline`]);
  console.log(`${what.padEnd(18)} this ${a.toFixed(0).padStart(6)}  baseline ${b.toFixed(0).padStart(6)}  this - baseline ${(a - b).toFixed(0).padStart(5)} ns  ratio ${(a / b).toFixed(2)}`);
}
if (sink === -1) console.log(sink);
