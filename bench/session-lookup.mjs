#!/usr/bin/env node
// Cost of a cold session lookup (a store read, not the gateway's memory cache) with 1k, 100k and
// 1M sessions stored, for SQLite and PostgreSQL: `stores.sessions.findByTokenHash` called
// directly in process (and the pair the gateway did on a miss before issue 13: + `users.findById`;
// and `getWithUser`, the one joined read it does now), µs per
// lookup p50/p99. Then the other per-request costs SCALING.md adds up: a Redis GET of a
// hot-copy-sized value (private redis-server), minting a passport (EdDSA, the gateway's own
// signJwt) and verifying an access token (jose, EdDSA). Last, the memory one cached session
// costs in the gateway's LRU (the real `SessionEntry` and the authenticator's two indexes),
// from heapUsed after global.gc().
// Bounded: sizes grow in one table (1k -> 100k -> 1M), rows loaded in multi-row INSERT
// batches in one transaction (SQLite) or with INSERT … SELECT generate_series (PostgreSQL).
// 127.0.0.1 only; PostgreSQL is a private database created and dropped here.
// Needs `npm run build` and `node --expose-gc`:
//   node --expose-gc bench/session-lookup.mjs [--lookups 2000] [--max 1000000] [--no-sqlite] [--no-postgres] [--no-micro] [--cache-entries 100000]
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LRUCache } from 'lru-cache';
import { Redis } from 'ioredis';
import { generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { cleanup, PrivateRedis } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    lookups: { type: 'string', default: '2000' },
    max: { type: 'string', default: '1000000' },
    'no-postgres': { type: 'boolean', default: false },
    'no-sqlite': { type: 'boolean', default: false },
    'cache-entries': { type: 'string', default: '100000' },
    'no-micro': { type: 'boolean', default: false },
    'database-url': { type: 'string', default: process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const LOOKUPS = Math.min(Number(values.lookups), 20_000);
const MAX = Math.min(Number(values.max), 1_000_000);
const SIZES = [1_000, 100_000, 1_000_000].filter((n) => n <= MAX);
const CACHE_ENTRIES = Math.min(Number(values['cache-entries']), 1_000_000);
const USERS = 1000;
const dist = new URL('../packages/server/dist/', import.meta.url);
const { openSqliteStores } = await import(new URL('stores/sqlite/open-sqlite-stores.js', dist).href);
const { openPostgresStores } = await import(new URL('stores/postgres/open-postgres-stores.js', dist).href);
const { SessionEntry } = await import(new URL('gateway/pipeline/authenticate/session-cookie.js', dist).href);

const clock = { now: () => Date.now() };
const DAY = 86_400_000;
/** Deterministic 43-char token hash of session i: same formula in JS and in SQL (md5 x2, hex). */
const tokenHash = (i) => (createHash('md5').update(`s${i}`).digest('hex') + createHash('md5').update(`t${i}`).digest('hex')).slice(0, 43);
const SQL_TOKEN_HASH = `left(md5('s' || i) || md5('t' || i), 43)`;

function quantiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5), p99: q(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}
const us = (ms) => (ms * 1000).toFixed(0).padStart(5);

/** LOOKUPS random hits among the first n sessions (plus a warm-up), timed one by one. */
async function measure(stores, n) {
  const keys = Array.from({ length: LOOKUPS }, () => tokenHash(Math.floor(Math.random() * n)));
  for (let i = 0; i < 200; i++) await stores.sessions.findByTokenHash(keys[i % keys.length]);
  const session = [];
  const pair = [];
  const joined = [];
  for (const k of keys) {
    const t0 = performance.now();
    const s = await stores.sessions.findByTokenHash(k);
    const t1 = performance.now();
    if (!s) throw new Error(`session ${k} not found`);
    await stores.users.findById(s.userId);
    const t2 = performance.now();
    session.push(t1 - t0);
    pair.push(t2 - t0);
  }
  // What the gateway does on a miss since issue 13: one read of the session and its user (a join).
  for (let i = 0; i < 200; i++) await stores.sessions.getWithUser(keys[i % keys.length]);
  for (const k of keys) {
    const t0 = performance.now();
    const r = await stores.sessions.getWithUser(k);
    joined.push(performance.now() - t0);
    if (!r) throw new Error(`session ${k} not found by getWithUser`);
  }
  const miss = [];
  for (let i = 0; i < Math.min(500, LOOKUPS); i++) {
    const t0 = performance.now();
    const s = await stores.sessions.findByTokenHash(randomBytes(32).toString('base64url').slice(0, 43));
    miss.push(performance.now() - t0);
    if (s) throw new Error('a random hash matched');
  }
  return { session: quantiles(session), pair: quantiles(pair), joined: quantiles(joined), miss: quantiles(miss) };
}

function report(backend, n, load, r) {
  console.log(
    `${backend.padEnd(10)} ${String(n).padStart(8)} sessions  findByTokenHash p50 ${us(r.session.p50)} µs p99 ${us(r.session.p99)} µs | +users.findById p50 ${us(r.pair.p50)} µs p99 ${us(r.pair.p99)} µs | getWithUser p50 ${us(r.joined.p50)} µs p99 ${us(r.joined.p99)} µs | miss p50 ${us(r.miss.p50)} µs | load ${load}`,
  );
}

const results = [];

async function sqliteRun() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-lookup-'));
  const file = join(dir, 'gatehouse.db');
  const stores = await openSqliteStores({ file, clock });
  const raw = new Database(file);
  raw.pragma('journal_mode = WAL');
  // Bulk load only: the benchmark's file is thrown away.
  raw.pragma('synchronous = OFF');
  raw.pragma('cache_size = -262144');
  try {
    const now = Date.now();
    const insUser = raw.prepare('insert into users (id, username, username_canonical, password_hash, roles, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)');
    raw.transaction(() => {
      for (let u = 0; u < USERS; u++) insUser.run(`u${u}`, `user${u}`, `user${u}`, '$argon2id$v=19$m=19456,t=2,p=1$x$y', '[]', now, now);
    })();
    const BATCH = 500;
    const cols = '(id, token_hash, user_id, device_id, device_name, csrf_token, persistent, created_at, last_seen_at, expires_at, absolute_expires_at, scope)';
    const insBatch = raw.prepare(`insert into sessions ${cols} values ${Array(BATCH).fill('(?,?,?,?,?,?,?,?,?,?,?,?)').join(',')}`);
    const row = (i) => [`sid${i}`, tokenHash(i), `u${i % USERS}`, `dev${i}`, null, `csrf${i}`, 1, now, now, now + 30 * DAY, now + 90 * DAY, null];
    let loaded = 0;
    for (const n of SIZES) {
      const t0 = performance.now();
      raw.transaction(() => {
        for (let i = loaded; i < n; i += BATCH) insBatch.run(...Array.from({ length: BATCH }, (_, k) => row(i + k)).flat());
      })();
      raw.exec('analyze');
      const load = `${((performance.now() - t0) / 1000).toFixed(1)} s for ${n - loaded} rows (multi-row INSERT x${BATCH}, one transaction)`;
      loaded = n;
      const r = await measure(stores, n);
      report('SQLite', n, load, r);
      results.push({ backend: 'SQLite', n, ...r });
    }
  } finally {
    raw.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresRun() {
  const name = `gh_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: values['database-url'], connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (err) {
    console.log(`PostgreSQL not reachable at ${values['database-url']} (${err.message}); PostgreSQL part skipped`);
    return;
  }
  await admin.query(`create database "${name}"`);
  const u = new URL(values['database-url']);
  u.pathname = `/${name}`;
  const url = u.toString();
  const stores = await openPostgresStores({ url, clock });
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    const now = Date.now();
    await raw.query(
      `insert into users (id, username, username_canonical, password_hash, roles, created_at, updated_at)
       select 'u' || i, 'user' || i, 'user' || i, '$argon2id$v=19$m=19456,t=2,p=1$x$y', '[]', $1, $1 from generate_series(0, $2 - 1) i`,
      [now, USERS],
    );
    let loaded = 0;
    for (const n of SIZES) {
      const t0 = performance.now();
      await raw.query(
        `insert into sessions (id, token_hash, user_id, device_id, device_name, csrf_token, persistent, created_at, last_seen_at, expires_at, absolute_expires_at, scope)
         select 'sid' || i, ${SQL_TOKEN_HASH}, 'u' || (i % ${USERS}), 'dev' || i, null, 'csrf' || i, 1, $1, $1, $2, $3, null
         from generate_series($4::int, $5::int - 1) i`,
        [now, now + 30 * DAY, now + 90 * DAY, loaded, n],
      );
      await raw.query('analyze sessions');
      const load = `${((performance.now() - t0) / 1000).toFixed(1)} s for ${n - loaded} rows (INSERT … SELECT generate_series)`;
      loaded = n;
      const r = await measure(stores, n);
      report('PostgreSQL', n, load, r);
      results.push({ backend: 'PostgreSQL', n, ...r });
    }
  } finally {
    await raw.end();
    await stores.close();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

/** heapUsed per cached session: the real SessionEntry in an LRU plus the authenticator's sid and user indexes. */
function cacheMemory(n) {
  if (typeof global.gc !== 'function') {
    console.log('memory per cached session: run with node --expose-gc for this part');
    return;
  }
  const now = Date.now();
  const users = Array.from({ length: Math.max(1, Math.floor(n / 3)) }, (_, u) => ({
    id: randomBytes(16).toString('base64url'),
    username: `user-number-${u}`,
    usernameCanonical: `user-number-${u}`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
    roles: u % 50 === 0 ? ['admin'] : [],
    createdAt: now,
    updatedAt: now,
  }));
  const settle = () => {
    for (let i = 0; i < 4; i++) global.gc();
    return process.memoryUsage().heapUsed;
  };
  const cache = new LRUCache({ max: n + 1, dispose: () => undefined });
  const bySid = new Map();
  const byUser = new Map();
  const before = settle();
  for (let i = 0; i < n; i++) {
    // Fresh strings as a store read makes them (no interned literals).
    const th = randomBytes(32).toString('base64url');
    const user = users[i % users.length];
    const session = {
      id: randomBytes(16).toString('base64url'),
      tokenHash: th,
      userId: user.id,
      deviceId: randomBytes(16).toString('base64url'),
      deviceName: i % 2 ? 'Firefox on Linux' : null,
      csrfToken: randomBytes(32).toString('base64url'),
      persistent: true,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + 30 * DAY,
      absoluteExpiresAt: now + 90 * DAY,
      scope: null,
    };
    const entry = new SessionEntry(th, session, user, now);
    cache.set(th, entry);
    bySid.set(entry.sid, th);
    let set = byUser.get(user.id);
    if (set === undefined) byUser.set(user.id, (set = new Set()));
    set.add(th);
  }
  const after = settle();
  const per = (after - before) / n;
  console.log(`memory per cached session: ${per.toFixed(0)} bytes (heapUsed +${((after - before) / 1048576).toFixed(1)} MiB for ${n} entries, LRU + sid and user indexes, ~3 sessions per user); 1M cached sessions ≈ ${((per * 1e6) / 1048576).toFixed(0)} MiB`);
  return { cache, bySid, byUser, per };
}

/** Per-request costs besides the store read: a hot-copy GET, a passport mint, an access-token verify. */
async function micro() {
  const redis = new PrivateRedis();
  await redis.start();
  const client = new Redis(redis.url, { lazyConnect: true });
  await client.connect();
  try {
    const value = JSON.stringify({ id: randomBytes(16).toString('base64url'), tokenHash: randomBytes(32).toString('base64url'), userId: randomBytes(16).toString('base64url'), deviceId: randomBytes(16).toString('base64url'), deviceName: null, csrfToken: randomBytes(32).toString('base64url'), persistent: true, createdAt: Date.now(), lastSeenAt: Date.now(), expiresAt: Date.now() + DAY, absoluteExpiresAt: Date.now() + DAY, scope: null, user: { id: 'u', username: 'user-number-1', roles: [] } });
    const N = 10_000;
    let pipe = client.pipeline();
    for (let i = 0; i < N; i++) pipe.set(`gh:s:${i}`, value, 'EX', 3600);
    await pipe.exec();
    pipe = undefined;
    for (let i = 0; i < 500; i++) await client.get(`gh:s:${i}`);
    const gets = [];
    for (let i = 0; i < LOOKUPS; i++) {
      const t0 = performance.now();
      const v = await client.get(`gh:s:${Math.floor(Math.random() * N)}`);
      JSON.parse(v);
      gets.push(performance.now() - t0);
    }
    const g = quantiles(gets);
    console.log(`hot copy: Redis GET + JSON.parse of a ${value.length}-byte session  p50 ${us(g.p50)} µs p99 ${us(g.p99)} µs (ioredis, loopback, one at a time)`);
  } finally {
    client.disconnect();
    await redis.kill();
  }
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const { signJwt } = await import(new URL('crypto/jwt.js', dist).href);
  const key = { kid: 'bench', privateKey };
  const now = Math.floor(Date.now() / 1000);
  const claims = () => ({ iss: 'https://gatehouse.example', aud: 'notes', sub: randomBytes(16).toString('base64url'), iat: now, exp: now + 60, jti: randomBytes(16).toString('base64url'), username: 'user-number-1', roles: [], auth: 'session', sid: 'sid', did: 'did' });
  for (let i = 0; i < 500; i++) await signJwt(claims(), { typ: 'passport+jwt', key });
  const mints = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const t0 = performance.now();
    await signJwt(claims(), { typ: 'passport+jwt', key });
    mints.push(performance.now() - t0);
  }
  const m = quantiles(mints);
  console.log(`passport mint: EdDSA sign (gateway signJwt)            p50 ${us(m.p50)} µs p99 ${us(m.p99)} µs`);
  const at = await new SignJWT({ ...claims(), scope: 'notes:read' }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'bench' }).sign(privateKey);
  for (let i = 0; i < 500; i++) await jwtVerify(at, publicKey, { algorithms: ['EdDSA'] });
  const verifies = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const t0 = performance.now();
    await jwtVerify(at, publicKey, { typ: 'at+jwt', issuer: 'https://gatehouse.example', audience: 'notes', algorithms: ['EdDSA'] });
    verifies.push(performance.now() - t0);
  }
  const v = quantiles(verifies);
  console.log(`access token verify: EdDSA (jose jwtVerify), uncached   p50 ${us(v.p50)} µs p99 ${us(v.p99)} µs`);

  // The CPU of a sign-in: one argon2id verify with the server's parameters (one at a time, then 2 in parallel on the libuv pool).
  const { ARGON2ID_OPTIONS } = await import(new URL('crypto/password-hasher.js', dist).href);
  const { hash, verify } = await import('@node-rs/argon2');
  const phc = await hash('correct horse battery staple', ARGON2ID_OPTIONS);
  const one = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await verify(phc, 'correct horse battery staple');
    one.push(performance.now() - t0);
  }
  const t0 = performance.now();
  const PAR = 40;
  await Promise.all(Array.from({ length: PAR }, () => verify(phc, 'correct horse battery staple')));
  const rate = PAR / ((performance.now() - t0) / 1000);
  const a = quantiles(one);
  console.log(`sign-in CPU: argon2id verify (m=${ARGON2ID_OPTIONS.memoryCost} KiB, t=${ARGON2ID_OPTIONS.timeCost}, p=${ARGON2ID_OPTIONS.parallelism})  p50 ${(a.p50).toFixed(1)} ms; ${rate.toFixed(0)} verifies/s with ${PAR} in flight on this machine`);
}

console.log(`session lookup: ${LOOKUPS} random lookups per size, sizes ${SIZES.join(', ')} (${new Date().toISOString()}, node ${process.version})`);
if (!values['no-sqlite']) await sqliteRun();
if (!values['no-postgres']) await postgresRun();
if (!values['no-micro']) await micro().finally(cleanup);
const mem = cacheMemory(CACHE_ENTRIES);
console.log('');
for (const backend of ['SQLite', 'PostgreSQL']) {
  const rows = results.filter((r) => r.backend === backend);
  if (rows.length < 2) continue;
  const first = rows[0];
  const last = rows[rows.length - 1];
  console.log(`${backend}: p50 ${us(first.session.p50).trim()} µs at ${first.n} -> ${us(last.session.p50).trim()} µs at ${last.n} (x${(last.session.p50 / first.session.p50).toFixed(2)}; flat is the goal)`);
}
if (mem) console.log(`memory: ${mem.per.toFixed(0)} B per cached session`);
