// The admin API's store queries (issue 18) on a big installation: user pages and searches, the
// audit log across users, and the JSON-lines export, through the stores exactly as the admin
// endpoints call them (UserStore.search, AuditStore.query; no HTTP).
//
//   node bench/admin-queries.mjs [--backend sqlite|postgres] [--users 100000] [--events 1000000] [--runs 21]
//
// Fills the database in bulk (raw multi-row inserts after the migrations: filling is not what
// is measured): --users users (1 % admins, 1 % disabled, created one second apart) and --events
// audit events (sign-ins and sign-in failures, 50 IPs, spread over the users). Then prints, per
// query, the median and p90 wall time over --runs runs (one at a time) and the rows per second of
// a whole export (oldest first, pages of 1 000, as /auth/admin/audit/export reads). SQLite in a
// temp dir; PostgreSQL on 127.0.0.1 (GATEHOUSE_TEST_DATABASE_URL) in a private gh_bench_<random>
// schema, dropped at the end. Bounded: ~1 min with the defaults on SQLite.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { TEST_DATABASE_URL } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'sqlite' },
    users: { type: 'string', default: '100000' },
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '21' },
  },
});
if (!['sqlite', 'postgres'].includes(values.backend)) {
  console.error('usage: node bench/admin-queries.mjs [--backend sqlite|postgres] [--users 100000] [--events 1000000] [--runs 21]');
  process.exit(2);
}
const BACKEND = values.backend;
const USERS = Math.max(1000, Math.min(Number(values.users), 1_000_000));
const EVENTS = Math.max(1000, Math.min(Number(values.events), 5_000_000));
const RUNS = Math.max(3, Math.min(Number(values.runs), 101));
if (BACKEND === 'postgres' && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(TEST_DATABASE_URL).hostname)) {
  console.error('PostgreSQL must be on 127.0.0.1 (GATEHOUSE_TEST_DATABASE_URL)');
  process.exit(2);
}
const dist = new URL('../packages/server/dist/', import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { usernameSkeleton } = await imp('util/confusable-skeleton.js');

const T0 = Date.UTC(2026, 0, 1);
const pad = (i) => String(i).padStart(7, '0');
const userRow = (i) => ({
  id: `u${pad(i)}`,
  username: `user${pad(i)}`,
  username_canonical: `user${pad(i)}`,
  username_skeleton: usernameSkeleton(`user${pad(i)}`),
  password_hash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  roles: i % 100 === 0 ? '["admin"]' : '[]',
  created_at: T0 + i * 1000,
  updated_at: T0 + i * 1000,
  password_change_required: 0,
  disabled_at: i % 100 === 50 ? T0 + i * 1000 + 5 : null,
});
const eventRow = (i) => ({
  id: `e${i}`,
  user_id: `u${pad(i % USERS)}`,
  type: i % 10 === 0 ? 'signin.failure' : 'signin.success',
  at: T0 + Math.floor((i * (USERS * 1000)) / EVENTS),
  ip: `192.0.2.${i % 50}`,
  device_id: `d${i % 5000}`,
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
  detail: JSON.stringify({ via: 'password', sid: `s${i}` }),
});
const USER_COLS = Object.keys(userRow(0));
const EVENT_COLS = Object.keys(eventRow(0));

const clock = { now: () => Date.now() };
let stores;
let cleanup;
const fill0 = performance.now();
if (BACKEND === 'sqlite') {
  const { openSqliteStores } = await imp('stores/sqlite/open-sqlite-stores.js');
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-bench-'));
  const file = join(dir, 'gatehouse.db');
  (await openSqliteStores({ file, clock })).close?.();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const insert = (table, cols, rows) => {
    const st = db.prepare(`insert into ${table} (${cols.join(',')}) values (${cols.map((c) => '@' + c).join(',')})`);
    db.transaction((rs) => {
      for (const r of rs) st.run(r);
    })(rows);
  };
  for (let i = 0; i < USERS; i += 10_000) insert('users', USER_COLS, Array.from({ length: Math.min(10_000, USERS - i) }, (_, k) => userRow(i + k)));
  for (let i = 0; i < EVENTS; i += 20_000) insert('audit_events', EVENT_COLS, Array.from({ length: Math.min(20_000, EVENTS - i) }, (_, k) => eventRow(i + k)));
  db.exec('analyze');
  db.close();
  stores = await openSqliteStores({ file, clock });
  cleanup = async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  };
} else {
  const { openPostgresStores } = await imp('stores/postgres/open-postgres-stores.js');
  const schema = `gh_bench_${randomBytes(6).toString('hex')}`;
  stores = await openPostgresStores({ url: TEST_DATABASE_URL, clock, schema });
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  const insert = async (table, cols, rows) => {
    const params = [];
    const tuples = rows.map((r) => `(${cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(',')})`);
    await client.query(`insert into "${schema}".${table} (${cols.join(',')}) values ${tuples.join(',')}`, params);
  };
  for (let i = 0; i < USERS; i += 5000) await insert('users', USER_COLS, Array.from({ length: Math.min(5000, USERS - i) }, (_, k) => userRow(i + k)));
  for (let i = 0; i < EVENTS; i += 6000) await insert('audit_events', EVENT_COLS, Array.from({ length: Math.min(6000, EVENTS - i) }, (_, k) => eventRow(i + k)));
  await client.query(`analyze "${schema}".users; analyze "${schema}".audit_events`);
  cleanup = async () => {
    await stores.close();
    await client.query(`drop schema "${schema}" cascade`);
    await client.end();
  };
}
console.log(`${BACKEND}: ${USERS} users, ${EVENTS} audit events, filled in ${((performance.now() - fill0) / 1000).toFixed(1)} s; ${RUNS} runs per query`);

async function time(label, fn) {
  await fn(); // warm
  const ms = [];
  let rows = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    rows = await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2);
  console.log(`  ${label.padEnd(58)} median ${q(0.5).padStart(8)} ms  p90 ${q(0.9).padStart(8)} ms  (${rows} rows)`);
}

const LIMIT = 50;
const keyOf = (u) => ({ createdAt: u.createdAt, id: u.id });
let deepKey = null;
{
  // The key of page 200 of the full user list, for a deep page.
  let after = null;
  for (let p = 0; p < 200; p++) after = keyOf((await stores.users.search({}, { limit: LIMIT, after })).at(-1));
  deepKey = after;
}
await time('users: first page, no filter', async () => (await stores.users.search({}, { limit: LIMIT })).length);
await time('users: page 201 (by cursor)', async () => (await stores.users.search({}, { limit: LIMIT, after: deepKey })).length);
await time('users: username prefix "user00012" (100 match)', async () => (await stores.users.search({ prefix: 'user00012' }, { limit: LIMIT })).length);
await time('users: username prefix "user0" (every user matches)', async () => (await stores.users.search({ prefix: 'user0' }, { limit: LIMIT })).length);
await time('users: username prefix that matches none', async () => (await stores.users.search({ prefix: 'zz' }, { limit: LIMIT })).length);
await time('users: role admin (1 %)', async () => (await stores.users.search({ role: 'admin' }, { limit: LIMIT })).length);
await time('users: disabled (1 %)', async () => (await stores.users.search({ disabled: true }, { limit: LIMIT })).length);
await time('users: created in one hour', async () => (await stores.users.search({ createdAfter: T0 + 50_000_000, createdBefore: T0 + 53_600_000 }, { limit: LIMIT })).length);
await time('audit: first page, newest first', async () => (await stores.audit.query({}, { limit: LIMIT, order: 'desc' })).length);
await time('audit: type signin.failure (10 %)', async () => (await stores.audit.query({ types: ['signin.failure'] }, { limit: LIMIT, order: 'desc' })).length);
await time('audit: one user', async () => (await stores.audit.query({ userId: `u${pad(4242)}` }, { limit: LIMIT, order: 'desc' })).length);
await time('audit: one IP (2 %)', async () => (await stores.audit.query({ ip: '192.0.2.7' }, { limit: LIMIT, order: 'desc' })).length);
await time('audit: one device (0.02 %)', async () => (await stores.audit.query({ deviceId: 'd77' }, { limit: LIMIT, order: 'desc' })).length);
await time('audit: one day', async () => (await stores.audit.query({ from: T0 + 86_400_000, to: T0 + 2 * 86_400_000 }, { limit: LIMIT, order: 'desc' })).length);
{
  // A whole export: oldest first, keyset pages of 1 000.
  const t = performance.now();
  let n = 0;
  let after = null;
  for (;;) {
    const page = await stores.audit.query({}, { limit: 1000, order: 'asc', after });
    n += page.length;
    if (page.length < 1000) break;
    after = page.at(-1).key ?? { at: page.at(-1).event.at, seq: page.at(-1).seq };
  }
  const s = (performance.now() - t) / 1000;
  console.log(`  ${'audit: whole export, oldest first, pages of 1 000'.padEnd(58)} ${n} rows in ${s.toFixed(1)} s: ${Math.round(n / s)} rows/s`);
}
await cleanup();
