// Hot-path cost of the bearer authenticator (bearer.authenticate of an already verified token:
// Map lookups, the revocation set, the user's cached facts; no signature, no store call), this
// build against another one, in interleaved rounds in one process (median ns per call).
//
//   node bench/bearer-micro.mjs --baseline <other build>/packages/server/dist [--rounds 21] [--n 200000]
//
// Tokens: a first-party access token, a device session's access token granted to a registered
// client (`client_id` = tv), the same with a removed client's entry in the revocation set
// (another client's, so the token still passes: the extra check runs), and a client-credentials
// token. Make the other build as DEVELOPERS.md says (git worktree add /tmp/base <commit>, symlink
// node_modules, npx tsc -b packages/sdk packages/demo-services packages/server). Real SQLite
// stores and keys in a temp dir; pure CPU once warm; ~1 min. On a busy box compare the ratios.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '21' }, n: { type: 'string', default: '200000' } } });
if (!values.baseline) {
  console.error('usage: node bench/bearer-micro.mjs --baseline <other build>/packages/server/dist');
  process.exit(2);
}
const THIS = fileURLToPath(new URL('../packages/server/dist', import.meta.url));
const ROUNDS = Math.max(3, Math.min(Number(values.rounds), 101));
const N = Math.max(10_000, Math.min(Number(values.n), 2_000_000));
const dirs = [];

async function build(root) {
  const imp = (p) => import(`${root}/${p}`);
  const { DEFAULTS } = await imp('config/defaults.js');
  const { openSqliteStores } = await imp('stores/sqlite/open-sqlite-stores.js');
  const { openKeyring } = await imp('crypto/keyring.js');
  const { InProcessRevocationFeed } = await imp('stores/revocations/in-process-feed.js');
  const { RevocationSet } = await imp('gateway/revocation-set.js');
  const { AUTHENTICATORS } = await imp('gateway/pipeline/authenticate/registry.js');
  const { issueAccessToken, issueClientAccessToken } = await imp('credentials/access-token.js');
  const { createLogger } = await imp('util/logger.js');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bearer-micro-'));
  dirs.push(dir);
  const clock = { now: () => Date.now() };
  const config = structuredClone(DEFAULTS);
  config.publicUrl = 'http://127.0.0.1:8080';
  config.logLevel = 'silent';
  config.dataDir = dir;
  // The user's and client's facts are re-read once per cacheTtlMs (a promise then): not within the run.
  config.session.cacheTtlMs = 3600_000;
  const stores = await openSqliteStores({ file: join(dir, 'gatehouse.db'), clock });
  const keyring = await openKeyring({ store: stores.keys, masterKey: new Uint8Array(randomBytes(32)), clock });
  const feed = new InProcessRevocationFeed();
  const deps = { config, clock, logger: createLogger('silent'), stores, feed, keyring };
  const revocations = new RevocationSet(deps);
  await revocations.whenReady();
  const bearer = AUTHENTICATORS.find((a) => a.name === 'bearer').build({ deps, revocations, dropPassports: () => {}, countDegraded: () => {} }).authenticator;
  const now = Date.now();
  const user = { id: 'u1', username: 'alice', usernameCanonical: 'alice', passwordHash: 'x', roles: ['staff'], createdAt: now, updatedAt: now };
  await stores.users.create(user);
  const session = { id: 's1', tokenHash: 'h1', userId: 'u1', deviceId: 'd1', deviceName: null, csrfToken: 'c', persistent: true, createdAt: now, lastSeenAt: now, expiresAt: now + 3600_000, absoluteExpiresAt: now + 7200_000, scope: 'notes:read' };
  await stores.sessions.createReplacingDevice(session);
  await stores.clients.create({ clientId: 'svc', name: 'svc', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'], audiences: [], service: 'svc', secrets: [{ hash: 'x', createdAt: now - 5000, notAfter: null }], createdAt: now - 5000, updatedAt: now - 5000, lastUsedAt: null });
  const firstParty = (await issueAccessToken(deps, { user, session, scope: 'notes:read' })).token;
  const device = (await issueAccessToken(deps, { user, session, scope: 'notes:read', clientId: 'tv' })).token;
  const client = (await issueClientAccessToken(deps, { clientId: 'svc', scope: 'notes:read' })).token;
  const input = (t) => ({ authorization: `Bearer ${t}` });
  // Warm: verify each once (signature, the user's and the client's facts read once).
  for (const t of [firstParty, device, client]) await bearer.authenticate(input(t));
  const run = (t) => {
    const inp = input(t);
    return () => {
      let sink = 0;
      for (let i = 0; i < N; i++) {
        const id = bearer.authenticate(inp);
        if (typeof id.then === 'function') throw new Error('not on the hot path (a promise)');
        sink += id.scopes.size;
      }
      return sink;
    };
  };
  return {
    cases: { 'access token (first party)': run(firstParty), 'access token (device client)': run(device), 'client token': run(client) },
    removeOtherClient: () => feed.publish({ type: 'client', clientId: 'some-other-client', at: Date.now() }),
    close: async () => {
      revocations.close();
      keyring.close();
      await stores.close();
    },
  };
}

const builds = { this: await build(THIS), baseline: await build(values.baseline) };
const results = {};
const phase = async (label) => {
  const names = Object.keys(builds.this.cases);
  for (let r = 0; r < ROUNDS; r++) {
    // Interleaved: every case of both builds in each round, the order rotating.
    const order = r % 2 === 0 ? ['this', 'baseline'] : ['baseline', 'this'];
    for (const name of names) {
      for (const b of order) {
        const key = `${name}${label} | ${b}`;
        const t0 = process.hrtime.bigint();
        builds[b].cases[name]();
        const ns = Number(process.hrtime.bigint() - t0) / N;
        (results[key] ??= []).push(ns);
      }
    }
  }
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Untimed: every case of both builds once, so the JIT has compiled both before the first timed round.
for (const b of Object.values(builds)) for (const run of Object.values(b.cases)) run();
await phase('');
for (const b of Object.values(builds)) await b.removeOtherClient();
await phase(' [a client removed]');

console.log(`bearer.authenticate, cached token: median ns per call over ${ROUNDS} interleaved rounds of ${N}`);
console.log('| case | this | baseline | this / baseline |');
console.log('| --- | --- | --- | --- |');
const cases = [...new Set(Object.keys(results).map((k) => k.split(' | ')[0]))];
for (const c of cases) {
  const t = median(results[`${c} | this`]);
  const b = median(results[`${c} | baseline`]);
  console.log(`| ${c} | ${t.toFixed(0)} | ${b.toFixed(0)} | ${(t / b).toFixed(3)} |`);
}
for (const b of Object.values(builds)) await b.close();
for (const d of dirs) rmSync(d, { recursive: true, force: true });
