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
// Bounded: ROUNDS x 2 x EXCHANGES sequential requests (undici request(), keep-alive). Needs `npm run build`.
//   node bench/token-exchange.mjs [--exchanges 1000] [--rounds 3]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { passportClaims, signPassport } from '../packages/server/dist/credentials/passport.js';
import { openKeyring } from '../packages/server/dist/crypto/keyring.js';
import { loadOrCreateMasterKey } from '../packages/server/dist/crypto/master-key.js';
import { openSqliteStores } from '../packages/server/dist/stores/sqlite/open-sqlite-stores.js';
import { systemClock } from '../packages/server/dist/util/clock.js';
import { CLI, cleanup, median, root, startChild, startRole, tempDir, threadCpuNs, writeConfig } from './cluster.mjs';

const { values } = parseArgs({ options: { exchanges: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } } });
const EXCHANGES = Math.max(50, Math.min(Number(values.exchanges), 5000));
const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 10));
const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

const watchdog = setTimeout(() => {
  console.error('token-exchange.mjs: over its time budget; stopping');
  void cleanup().then(() => process.exit(1));
}, (ROUNDS * EXCHANGES * 0.02 + 120) * 1000);
watchdog.unref();
process.on('unhandledRejection', (err) => {
  console.error(err);
  void cleanup().then(() => process.exit(1));
});

const dataDir = tempDir();
const ISSUER = 'http://127.0.0.1:8080';
// The issuer fixed, so the passports minted here carry the one the auth service expects.
const configFile = writeConfig({ passport: { issuer: ISSUER } });
const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_CONFIG: configFile };

// The calling service's client, registered with the CLI like an operator would.
const add = await startChild(
  [CLI, 'clients', 'add', 'svc-a', '--name', 'Bench A', '--type', 'confidential', '--grants', 'token-exchange,client_credentials', '--scopes', 'notes:read', '--audiences', 'svc-b'],
  env,
  /^(ghc_[0-9A-Za-z]{49})$/m,
);
const secret = add.url;
await add.stop();
const auth = await startRole('auth', env);
const pid = auth.proc.pid;

// A user and a session, through the auth service itself.
const json = { 'content-type': 'application/json' };
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
async function mint() {
  const iat = Math.floor(Date.now() / 1000);
  return signPassport(passportClaims(ISSUER, subject, 'svc-a', iat, iat + 60), keyring.signingKey());
}

const authorization = `Basic ${Buffer.from(`svc-a:${secret}`).toString('base64')}`;
const CC_BODY = new URLSearchParams({ grant_type: 'client_credentials' }).toString();
async function exchange(passport) {
  const r = await request(`${auth.url}/auth/token`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body: passport === null ? CC_BODY : new URLSearchParams({ grant_type: GRANT, subject_token: passport, subject_token_type: JWT, audience: 'svc-b' }).toString(),
  });
  const text = await r.body.text();
  if (r.statusCode !== 200) throw new Error(`exchange: ${r.statusCode} ${text}`);
}

/** CPU µs of the auth process per exchange over `passports`. */
async function slice(passports) {
  const before = threadCpuNs(pid);
  const t0 = performance.now();
  for (const p of passports) await exchange(p);
  const wall = performance.now() - t0;
  const after = threadCpuNs(pid);
  return { cpuUs: (after.all - before.all) / 1e3 / passports.length, mainUs: (after.main - before.main) / 1e3 / passports.length, wallUs: (wall * 1e3) / passports.length };
}

if (threadCpuNs(pid) === null) throw new Error('needs Linux /proc to read the auth process CPU');
// Warm-up: the JIT, the statement cache, the connection.
for (let i = 0; i < 300; i++) await exchange(await mint());

const LABELS = { fresh: 'exchange, fresh subject passport', same: 'exchange, same subject passport', cc: 'client_credentials grant' };
const results = { fresh: [], same: [], cc: [] };
for (let round = 1; round <= ROUNDS; round++) {
  const fresh = [];
  for (let i = 0; i < EXCHANGES; i++) fresh.push(await mint());
  const one = await mint();
  for (const [name, passports] of [['fresh', fresh], ['same', Array(EXCHANGES).fill(one)], ['cc', Array(EXCHANGES).fill(null)]]) {
    const r = await slice(passports);
    results[name].push(r);
    console.log(`round ${round} ${LABELS[name].padEnd(34)} auth CPU ${r.cpuUs.toFixed(1)} µs/exchange (main thread ${r.mainUs.toFixed(1)})  wall ${r.wallUs.toFixed(1)} µs`);
  }
}
console.log('');
for (const name of ['fresh', 'same', 'cc']) {
  const cpu = median(results[name].map((r) => r.cpuUs));
  const main = median(results[name].map((r) => r.mainUs));
  const target = name === 'cc' ? '(baseline: the same client authentication and one signature, no subject)' : `target < 300 µs: ${cpu < 300 ? 'met' : 'NOT met'}`;
  console.log(`${LABELS[name].padEnd(34)} auth-service CPU per request: median ${cpu.toFixed(1)} µs (main thread ${main.toFixed(1)} µs); ${target}`);
}
console.log(`(${ROUNDS} rounds x ${EXCHANGES} sequential exchanges per variant, gatehouse auth on SQLite, Node ${process.version}, ${new Date().toISOString()}, ${root})`);
keyring.close();
await stores.close();
await cleanup();
