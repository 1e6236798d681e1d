// The store path of a refresh grant (issue 19), this build against another one, in interleaved
// rounds in one process: redeemRefreshToken of each build (auth/refresh-token.js: its reads, the
// rotation and the session's slide, exactly as the token endpoint calls it; no HTTP, no access
// token signature) on real stores, each device refreshing its own current token in turn.
//
//   node bench/refresh-store.mjs --baseline <other build>/packages/server/dist [--backend sqlite|postgres] [--rounds 11] [--n 1000] [--devices 64]
//
// Per build: CPU of this process per refresh (process.cpuUsage: with SQLite that is all of it,
// better-sqlite3 runs on this thread; with PostgreSQL only the client side, the backends' work
// is not counted) and wall time per refresh (one at a time: with PostgreSQL the round trips);
// medians over rounds and the median of the per-round ratios (this ÷ baseline). Each round runs
// both builds, in alternating order, so the box's drift hits both alike. Make the other build as
// DEVELOPERS.md says (a checkout of the other commit, node_modules symlinked, npx tsc -b
// packages/sdk packages/demo-services packages/server). SQLite in a temp dir; PostgreSQL on
// 127.0.0.1 (GATEHOUSE_TEST_DATABASE_URL), a private gh_bench_<random> schema per build, dropped at
// the end. Bounded: rounds x n x 2 refreshes (~20 s with the defaults on SQLite).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { median, TEST_DATABASE_URL } from './cluster.mjs';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    backend: { type: 'string', default: 'sqlite' },
    rounds: { type: 'string', default: '11' },
    n: { type: 'string', default: '1000' },
    devices: { type: 'string', default: '64' },
  },
});
if (!values.baseline || !['sqlite', 'postgres'].includes(values.backend)) {
  console.error('usage: node bench/refresh-store.mjs --baseline <other build>/packages/server/dist [--backend sqlite|postgres] [--rounds 11] [--n 1000] [--devices 64]');
  process.exit(2);
}
const THIS = fileURLToPath(new URL('../packages/server/dist', import.meta.url));
const ROUNDS = Math.max(3, Math.min(Number(values.rounds), 51));
const N = Math.max(100, Math.min(Number(values.n), 20_000));
const DEVICES = Math.max(1, Math.min(Number(values.devices), 1000));
const BACKEND = values.backend;
if (BACKEND === 'postgres' && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(TEST_DATABASE_URL).hostname)) {
  console.error('PostgreSQL must be on 127.0.0.1 (GATEHOUSE_TEST_DATABASE_URL)');
  process.exit(2);
}
const dirs = [];
const schemas = [];

async function build(root, label) {
  const imp = (p) => import(`${root}/${p}`);
  const { DEFAULTS } = await imp('config/defaults.js');
  const { issueFirstRefreshToken, redeemRefreshToken } = await imp('auth/refresh-token.js');
  const clock = { now: () => Date.now() };
  let stores;
  if (BACKEND === 'sqlite') {
    const { openSqliteStores } = await imp('stores/sqlite/open-sqlite-stores.js');
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-refresh-store-'));
    dirs.push(dir);
    stores = await openSqliteStores({ file: join(dir, 'gatehouse.db'), clock });
  } else {
    const { openPostgresStores } = await imp('stores/postgres/open-postgres-stores.js');
    const schema = `gh_bench_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    stores = await openPostgresStores({ url: TEST_DATABASE_URL, clock, schema });
  }
  const config = structuredClone(DEFAULTS);
  const deps = { config, clock, stores, refreshRotationKey: new Uint8Array(randomBytes(32)) };
  const now = Date.now();
  const devices = [];
  for (let d = 0; d < DEVICES; d++) {
    const user = { id: `u${d}`, username: `user${d}`, usernameCanonical: `user${d}`, passwordHash: 'x', roles: ['staff'], createdAt: now, updatedAt: now };
    await stores.users.create(user);
    const session = { id: `s${d}`, tokenHash: `h${d}`, userId: user.id, deviceId: `d${d}`, deviceName: null, csrfToken: 'c', persistent: true, createdAt: now, lastSeenAt: now, expiresAt: now + 3600_000, absoluteExpiresAt: now + 7200_000, scope: 'notes:read' };
    await stores.sessions.createReplacingDevice(session);
    devices.push({ token: await issueFirstRefreshToken(deps, session) });
  }
  let k = 0;
  const slice = async () => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const dev = devices[k++ % DEVICES];
      const r = await redeemRefreshToken(deps, dev.token);
      if (r.outcome !== 'rotated') throw new Error(`${label}: ${r.outcome}`);
      dev.token = r.refreshToken;
    }
    const cpu = process.cpuUsage(cpu0);
    return { cpuUs: (cpu.user + cpu.system) / N, wallUs: ((performance.now() - t0) * 1000) / N };
  };
  return { label, slice, close: () => stores.close() };
}

const builds = [await build(THIS, 'this build'), await build(values.baseline, 'baseline')];
try {
  console.log(`refresh-store: ${BACKEND}, ${DEVICES} devices, ${ROUNDS} rounds of ${N} refreshes per build, node ${process.version}`);
  // Warm-up (JIT, statement caches), unmeasured.
  for (const b of builds) await b.slice();
  const samples = builds.map(() => ({ cpu: [], wall: [] }));
  const ratios = { cpu: [], wall: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    const got = [];
    for (const i of order) got[i] = await builds[i].slice();
    got.forEach((g, i) => {
      samples[i].cpu.push(g.cpuUs);
      samples[i].wall.push(g.wallUs);
    });
    ratios.cpu.push(got[0].cpuUs / got[1].cpuUs);
    ratios.wall.push(got[0].wallUs / got[1].wallUs);
  }
  const f = (x) => x.toFixed(1).padStart(7);
  for (const [i, b] of builds.entries()) {
    console.log(`  ${b.label.padEnd(10)}: ${f(median(samples[i].cpu))} µs CPU (this process) per refresh, ${f(median(samples[i].wall))} µs wall per refresh = ${f(1e6 / median(samples[i].cpu))} refreshes per CPU-second of this process`);
  }
  console.log(`  this build ÷ baseline, median of ${ROUNDS} paired rounds: CPU ${median(ratios.cpu).toFixed(3)}, wall ${median(ratios.wall).toFixed(3)}`);
} finally {
  for (const b of builds) await b.close().catch(() => undefined);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (schemas.length > 0) {
    const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await c.connect();
    for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    await c.end();
  }
}
