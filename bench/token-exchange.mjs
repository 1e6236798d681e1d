#!/usr/bin/env node
// Token exchange (RFC 8693, docs/delegation.md): the auth service's CPU per exchange, against a
// real `gatehouse auth` process (embedded SQLite) on 127.0.0.1, from /proc/<pid>/task/*/schedstat
// (all its threads; Linux). Two variants, interleaved in rounds:
//   - fresh subject: every exchange presents a passport the auth service has not seen (a full
//     Ed25519 verification, one session read, one signature);
//   - same subject: the same passport again and again (a service serving several calls of one
//     request; the SDK verifier's cache skips the verification, the store read and the signature
//     remain).
// Subject passports are minted in this process with the auth service's own keys (the data
// directory's master key and key store, credentials/passport.js: the gateway's code), before each
// timed slice, so their cost is not counted. For scale, a third variant times the
// client_credentials grant of the same client: the same client authentication, parsing and one
// signature, without a subject to verify or a session to read. Target: < 0.3 ms (300 µs) per exchange.
// Before/after: `--baseline-cli <other build>/packages/server/dist/cli/main.js` runs a second
// `gatehouse auth` of that build (its own data directory, client and user) and interleaves its
// slices with this build's in every round (the order alternating), so both see the same load.
// `--cpu-prof <dir>` runs this build's auth service under `node --cpu-prof` (profile written
// there at the end). Bounded: ROUNDS x 3 x EXCHANGES sequential requests per build (undici
// request(), keep-alive). Needs `npm run build`.
// `--redis` adds the rate-limit calls of a successful client authentication on a private
// redis-server, before and after the change that made them reads only.
//   node bench/token-exchange.mjs [--exchanges 1000] [--rounds 3] [--baseline-cli <cli>] [--cpu-prof <dir>] [--redis]
import { createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { passportClaims, signPassport } from '../packages/server/dist/credentials/passport.js';
import { openKeyring } from '../packages/server/dist/crypto/keyring.js';
import { loadOrCreateMasterKey } from '../packages/server/dist/crypto/master-key.js';
import { openSqliteStores } from '../packages/server/dist/stores/sqlite/open-sqlite-stores.js';
import { createPassportVerifier } from '../packages/sdk/dist/index.js';
import { systemClock } from '../packages/server/dist/util/clock.js';
import { CLI, cleanup, median, PrivateRedis, root, startChild, tempDir, threadCpuNs, writeConfig } from './cluster.mjs';
import { RedisRateLimitStore } from '../packages/server/dist/stores/rate-limits/redis-rate-limit-store.js';

const { values } = parseArgs({
  options: {
    exchanges: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'baseline-cli': { type: 'string' },
    'cpu-prof': { type: 'string' },
    redis: { type: 'boolean', default: false },
  },
});
const EXCHANGES = Math.max(50, Math.min(Number(values.exchanges), 5000));
const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 10));
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const BUILDS = values['baseline-cli'] ? [['this', CLI], ['baseline', values['baseline-cli']]] : [['this', CLI]];

const watchdog = setTimeout(() => {
  console.error('token-exchange.mjs: over its time budget; stopping');
  void cleanup().then(() => process.exit(1));
}, (BUILDS.length * ROUNDS * EXCHANGES * 0.03 + 120) * 1000);
watchdog.unref();
process.on('unhandledRejection', (err) => {
  console.error(err);
  void cleanup().then(() => process.exit(1));
});

const ISSUER = 'http://127.0.0.1:8080';
const json = { 'content-type': 'application/json' };

/** One `gatehouse auth` of `cli` on a data directory of its own, with the client svc-a, a signed-in user, and its keys opened here. */
async function startTarget(name, cli) {
  const dataDir = tempDir();
  // The issuer fixed, so the passports minted here carry the one the auth service expects.
  const configFile = writeConfig({ passport: { issuer: ISSUER } });
  const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: configFile };
  // The calling service's client, registered with the CLI like an operator would.
  const add = await startChild(
    [cli, 'clients', 'add', 'svc-a', '--name', 'Bench A', '--type', 'confidential', '--grants', 'token-exchange,client_credentials', '--scopes', 'notes:read', '--audiences', 'svc-b'],
    env,
    /^(ghc_[0-9A-Za-z]{49})$/m,
  );
  const secret = add.url;
  await add.stop();
  const profile = name === 'this' && values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', values['cpu-prof']] : [];
  const auth = await startChild([...profile, cli, 'auth', '--port', '0'], env, /is up at (http:\/\/\S+)/);
  // A user and a session, through the auth service itself.
  const up = await fetch(`${auth.url}/auth/signup`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'bench-user', password: 'benchmark passphrase 1' }) });
  if (up.status !== 201) throw new Error(`sign-up: ${up.status} ${await up.text()}`);
  const inRes = await fetch(`${auth.url}/auth/signin`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'bench-user', password: 'benchmark passphrase 1', device_id: 'bench' }) });
  if (inRes.status !== 200) throw new Error(`sign-in: ${inRes.status} ${await inRes.text()}`);
  const signedIn = await inRes.json();
  // The auth service's keys, read from the same data directory (as the gateway of `gatehouse start` would).
  const stores = await openSqliteStores({ file: join(dataDir, 'gatehouse.db'), clock: systemClock });
  const masterKey = await loadOrCreateMasterKey({ configured: null, dataDir, required: false });
  const keyring = await openKeyring({ store: stores.keys, masterKey: masterKey.key, clock: systemClock });
  const subject = { auth: 'session', user: signedIn.user, sid: signedIn.session.id, did: signedIn.session.device_id, scope: undefined };
  const authorization = `Basic ${Buffer.from(`svc-a:${secret}`).toString('base64')}`;
  return {
    name,
    stores,
    keyring,
    sid: signedIn.session.id,
    pid: auth.proc.pid,
    url: auth.url,
    authorization,
    stop: auth.stop,
    async mint() {
      const iat = Math.floor(Date.now() / 1000);
      return signPassport(passportClaims(ISSUER, subject, 'svc-a', iat, iat + 60), keyring.signingKey());
    },
    async close() {
      keyring.close();
      await stores.close();
    },
  };
}

const CC_BODY = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
const HTTP_FLOOR = Symbol('GET /healthz');
const REFUSED = Symbol('POST /auth/token grant_type=unknown');
async function exchange(target, passport) {
  if (passport === REFUSED) {
    const r = await request(`${target.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=unknown' });
    const text = await r.body.text();
    if (r.statusCode !== 400) throw new Error(`refused POST (${target.name}): ${r.statusCode} ${text}`);
    return;
  }
  if (passport === HTTP_FLOOR) {
    const h = await request(`${target.url}/healthz`);
    const text = await h.body.text();
    if (h.statusCode !== 200) throw new Error(`healthz (${target.name}): ${h.statusCode} ${text}`);
    return;
  }
  const r = await request(`${target.url}/auth/token`, {
    method: 'POST',
    headers: { authorization: target.authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: passport === null ? CC_BODY : new URLSearchParams({ grant_type: GRANT, subject_token: passport, subject_token_type: JWT, audience: 'svc-b' }).toString(),
  });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`exchange (${target.name}): ${r.statusCode} ${text}`);
}

/** CPU µs of the target's auth process per exchange over `passports`. */
async function slice(target, passports) {
  const before = threadCpuNs(target.pid);
  const t0 = performance.now();
  for (const p of passports) await exchange(target, p);
  const wall = performance.now() - t0;
  const after = threadCpuNs(target.pid);
  return { cpuUs: (after.all - before.all) / 1e3 / passports.length, mainUs: (after.main - before.main) / 1e3 / passports.length, wallUs: (wall * 1e3) / passports.length };
}

const targets = [];
for (const [name, cli] of BUILDS) targets.push(await startTarget(name, cli));
if (threadCpuNs(targets[0].pid) === null) throw new Error('needs Linux /proc to read the auth process CPU');
// Warm-up: the JIT, the statement cache, the connection.
for (const t of targets) for (let i = 0; i < 300; i++) await exchange(t, i % 3 === 2 ? null : await t.mint());

// The parts, in this process (this build's code, the first target's keys and database): CPU µs each, main thread and all
// threads; measured before the rounds (a small heap: no garbage of the rounds collected meanwhile), printed at the end.
const partLines = [];
function selfCpuNs() {
  let main = 0;
  let all = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      all += ns;
      if (tid === String(process.pid)) main = ns;
    } catch {
      // the thread ended meanwhile
    }
  }
  return { main, all };
}
async function part(label, n, fn) {
  for (let i = 0; i < 200; i++) await fn();
  const samples = [];
  for (let round = 0; round < 3; round++) {
    const before = selfCpuNs();
    for (let i = 0; i < n; i++) await fn();
    const after = selfCpuNs();
    samples.push({ all: (after.all - before.all) / 1e3 / n, main: (after.main - before.main) / 1e3 / n });
  }
  const all = median(samples.map((x) => x.all));
  const main = median(samples.map((x) => x.main));
  partLines.push(`  ${label.padEnd(60)} ${all.toFixed(1).padStart(6)} µs (main thread ${main.toFixed(1)})`);
}
{
  const t = targets[0];
  const passport = await t.mint();
  const claims = { ...(await createPassportVerifier({ jwks: () => t.keyring.jwks(), issuer: ISSUER, audience: 'svc-a', cacheMax: 0 }).verify(passport)) };
  const uncached = createPassportVerifier({ jwks: () => t.keyring.jwks(), issuer: ISSUER, audience: 'svc-a', cacheMax: 0 });
  const jwk = t.keyring.jwks().keys[0];
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  // The service's private key is not extractable; the cost of a signature does not depend on the key.
  const { privateKey } = generateKeyPairSync('ed25519');
  const dot = passport.lastIndexOf('.');
  const data = Buffer.from(passport.slice(0, dot));
  const sig = Buffer.from(passport.slice(dot + 1), 'base64url');
  await part('signPassport (jose SignJWT, WebCrypto Ed25519)', EXCHANGES, () => signPassport(claims, t.keyring.signingKey()));
  await part('SDK verifier, full verification (jose jwtVerify, WebCrypto)', EXCHANGES, () => uncached.verify(passport));
  await part('raw node:crypto Ed25519 sign of the same bytes (for scale)', EXCHANGES, () => edSign(null, data, privateKey));
  await part('raw node:crypto Ed25519 verify of the same bytes (for scale)', EXCHANGES, () => edVerify(null, data, publicKey, sig));
  await part('stores.clients.get (compiled query, SQLite)', EXCHANGES, () => t.stores.clients.get('svc-a'));
  await part('stores.sessions.findById (SQLite)', EXCHANGES, () => t.stores.sessions.findById(t.sid));
  if (values.redis) {
    // The rate-limit calls of one successful client authentication on Redis (several instances):
    // before (peek the address, reserve a point for the client, give it back) and now (two peeks).
    const redis = new PrivateRedis();
    await redis.start();
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const rl = new RedisRateLimitStore({ client });
    const clientRule = { points: 5, durationSec: 900 };
    const ipRule = { points: 30, durationSec: 60 };
    await part('rate limits, Redis: peek ip + consume + reset client (before)', EXCHANGES, async () => {
      await rl.peek('ip', ipRule);
      await rl.consume('client', clientRule);
      await rl.reset('client');
    });
    await part('rate limits, Redis: peek ip + peek client, in parallel (now)', EXCHANGES, () => Promise.all([rl.peek('ip', ipRule), rl.peek('client', clientRule)]));
    client.disconnect();
    await redis.kill();
  }
}

const LABELS = { fresh: 'exchange, fresh subject passport', same: 'exchange, same subject passport', cc: 'client_credentials grant', refused: 'POST, unknown grant_type (400)', http: 'GET /healthz (HTTP floor)' };
const VARIANTS = Object.keys(LABELS);
const results = Object.fromEntries(targets.map((t) => [t.name, Object.fromEntries(VARIANTS.map((v) => [v, []]))]));
const pad = Math.max(...targets.map((t) => t.name.length));
for (let round = 1; round <= ROUNDS; round++) {
  const order = round % 2 === 1 ? targets : [...targets].reverse();
  const passports = new Map();
  for (const t of targets) {
    const fresh = [];
    for (let i = 0; i < EXCHANGES; i++) fresh.push(await t.mint());
    passports.set(t, { fresh, same: Array(EXCHANGES).fill(await t.mint()), cc: Array(EXCHANGES).fill(null), refused: Array(EXCHANGES).fill(REFUSED), http: Array(EXCHANGES).fill(HTTP_FLOOR) });
  }
  for (const name of VARIANTS) {
    for (const t of order) {
      const r = await slice(t, passports.get(t)[name]);
      results[t.name][name].push(r);
      console.log(`round ${round} ${t.name.padEnd(pad)} ${LABELS[name].padEnd(34)} auth CPU ${r.cpuUs.toFixed(1)} µs/request (main thread ${r.mainUs.toFixed(1)})  wall ${r.wallUs.toFixed(1)} µs`);
    }
  }
}
console.log('');
for (const name of VARIANTS) {
  const cpu = {};
  for (const t of targets) {
    cpu[t.name] = median(results[t.name][name].map((r) => r.cpuUs));
    const main = median(results[t.name][name].map((r) => r.mainUs));
    const target =
      name === 'cc'
        ? '(parsing, client authentication, one signature; no subject)'
        : name === 'http'
          ? '(no body, no store, no crypto)'
          : name === 'refused'
            ? '(a form body parsed, an OAuth error answered; no client, no store, no crypto)'
            : `target < 300 µs: ${cpu[t.name] < 300 ? 'met' : 'NOT met'}`;
    console.log(`${t.name.padEnd(pad)} ${LABELS[name].padEnd(34)} auth-service CPU per request: median ${cpu[t.name].toFixed(1)} µs (main thread ${main.toFixed(1)} µs); ${target}`);
  }
  if (cpu.baseline !== undefined) {
    const paired = results.this[name].map((r, i) => r.cpuUs / results.baseline[name][i].cpuUs);
    console.log(`${''.padEnd(pad)} ${LABELS[name].padEnd(34)} this / baseline: median of per-round ratios ${median(paired).toFixed(3)} (${(cpu.this - cpu.baseline).toFixed(1)} µs)`);
  }
}

console.log(`\nThe parts, in the bench process before the rounds (this build, CPU per call, median of 3 x ${EXCHANGES}):`);
for (const line of partLines) console.log(line);
console.log(`(${ROUNDS} rounds x ${EXCHANGES} sequential requests per variant and build, gatehouse auth on SQLite, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${new Date().toISOString()}, ${root})`);
for (const t of targets) {
  await t.close();
  await t.stop();
}
await cleanup();
