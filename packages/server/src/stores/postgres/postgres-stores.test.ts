import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../errors/index.js';
import { ManualClock } from '../../util/clock.js';
import { DAY, makeSession, makeUser, T0 } from '../contract/fixtures.test-helpers.js';
import { hashSecret } from '../../crypto/secrets.js';
import { runStoreContracts } from '../contract/index.test-helpers.js';
import { guard } from '../sql/flavor.js';
import { gatehouseMigrations } from '../sql/migrations.js';
import { UsernameTakenError, type Stores } from '../types.js';
import { openPostgresStores, type PostgresStoresOptions } from './open-postgres-stores.js';
import { describePostgres } from './postgres-database.js';
import { postgresFlavor } from './postgres-flavor.js';
import { TcpProxy } from './tcp-proxy.test-helpers.js';
import { dropSchemas, requirePostgres, TEST_DATABASE_URL, testSchemaName, withTestClient } from './test-env.test-helpers.js';

const available = await requirePostgres();

const clock = new ManualClock();
/** Every schema this file creates: one per fresh store, all dropped at the end. */
const schemas = new Set<string>();
const fileSchema = testSchemaName();
let n = 0;
const schemaOf = new WeakMap<Stores, string>();

function freshSchema(): string {
  const s = `${fileSchema}_${++n}`;
  schemas.add(s);
  return s;
}

async function open(schema: string, over: Partial<PostgresStoresOptions> = {}): Promise<Stores> {
  const stores = await openPostgresStores({ url: TEST_DATABASE_URL, clock, schema, ...over });
  schemaOf.set(stores, schema);
  return stores;
}

afterAll(async () => {
  if (available) await dropSchemas(schemas);
});

const elapsed = async (p: Promise<unknown>): Promise<{ ms: number; error: unknown }> => {
  const t = performance.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: performance.now() - t, error };
};

function urlVia(port: number): string {
  const u = new URL(TEST_DATABASE_URL);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/**
 * The contract suites want an empty store per test: one schema for them all, migrated once,
 * emptied before each test (a fresh schema per test would pay the migrations every time).
 */
const contractSchema = `${fileSchema}_contract`;
async function emptyContractStores(): Promise<Stores> {
  if (!schemas.has(contractSchema)) {
    schemas.add(contractSchema);
    await (await open(contractSchema)).close();
  }
  await withTestClient(async (c) => {
    const tables = await c.query<{ table_name: string }>(
      "select table_name from information_schema.tables where table_schema = $1 and table_type = 'BASE TABLE' and table_name not like 'kysely_%'",
      [contractSchema],
    );
    // DELETE beats TRUNCATE on tiny tables (no new files, no fsync); foreign keys cascade.
    await c.query(tables.rows.map((t) => `delete from "${contractSchema}"."${t.table_name}";`).join('\n'));
  });
  return open(contractSchema);
}

describe.skipIf(!available)('PostgreSQL stores', () => {
  runStoreContracts('PostgreSQL', emptyContractStores, {
    async reopen(stores) {
      await stores.close();
      return open(schemaOf.get(stores)!);
    },
    async rawBytes(stores) {
      // Every persisted row of the schema, as text.
      const schema = schemaOf.get(stores)!;
      const rows = await withTestClient(async (c) => {
        const tables = await c.query<{ table_name: string }>('select table_name from information_schema.tables where table_schema = $1', [schema]);
        const out: string[] = [];
        for (const { table_name } of tables.rows) {
          const r = await c.query<{ j: string }>(`select row_to_json(t)::text as j from "${schema}"."${table_name}" t`);
          out.push(...r.rows.map((x) => x.j));
        }
        return out;
      });
      return Buffer.from(rows.join('\n'));
    },
  });

  describe('openPostgresStores', () => {
    it('describes every store by host, port and database (never the credentials), and is ready', async () => {
      const schema = freshSchema();
      const stores = await open(schema);
      try {
        const u = new URL(TEST_DATABASE_URL);
        const label = `PostgreSQL ${u.hostname}:${u.port || '5432'}${u.pathname} (schema ${schema})`;
        expect(stores.describe).toEqual({ users: label, sessions: label, keys: label, revocations: label, refreshTokens: label, apiTokens: label, clients: label, deviceCodes: label, identities: label, rateLimits: 'memory', audit: label, mfa: label });
        expect(await stores.ready()).toEqual({ users: true, sessions: true, keys: true, revocations: true, refreshTokens: true, apiTokens: true, clients: true, deviceCodes: true, identities: true, rateLimits: true, audit: true, mfa: true });
      } finally {
        await stores.close();
      }
      expect(describePostgres('postgres://gh:hunter2@db.internal:6432/gatehouse?sslmode=require')).toBe('PostgreSQL db.internal:6432/gatehouse');
      expect(describePostgres('postgresql://gh:hunter2@db.internal/gatehouse', 'public')).not.toContain('hunter2');
    });

    it('refuses a schema name that is not a plain identifier', async () => {
      await expect(openPostgresStores({ url: TEST_DATABASE_URL, clock, schema: 'x; drop table users' })).rejects.toThrow(/schema name/);
    });

    it('migrations 0004 and 0005 fill in the look-alike key of users created before them', async () => {
      const schema = freshSchema();
      await (await open(schema)).close();
      // Back to the schema before 0004, with a user of that time.
      const old = makeUser({ username: 'Admin', usernameCanonical: 'admin' });
      const shown = makeUser({ username: 'AIex', usernameCanonical: 'aiex' });
      await withTestClient(async (c) => {
        await c.query(`alter table "${schema}".users drop column username_skeleton`);
        await c.query(`delete from "${schema}".kysely_migration where name >= '0004'`);
        await c.query(`insert into "${schema}".users (id, username, username_canonical, password_hash, roles, created_at, updated_at) values ($1, $2, $3, $4, '[]', $5, $6)`, [
          old.id,
          old.username,
          old.usernameCanonical,
          old.passwordHash,
          old.createdAt,
          old.updatedAt,
        ]);
        // Shown "AIex": migration 0005 keys it as "alex" (a capital I reads as l), not by its canonical "aiex".
        await c.query(`insert into "${schema}".users (id, username, username_canonical, password_hash, roles, created_at, updated_at) values ($1, $2, $3, $4, '[]', $5, $6)`, [
          shown.id,
          shown.username,
          shown.usernameCanonical,
          shown.passwordHash,
          shown.createdAt,
          shown.updatedAt,
        ]);
      });
      const stores = await open(schema);
      try {
        expect(await stores.users.findLookalike('\u0430dmin')).toEqual(old);
        expect(await stores.users.findLookalike('alex')).toEqual(shown);
        const idx = await withTestClient((c) => c.query<{ indexname: string }>('select indexname from pg_indexes where schemaname = $1 and tablename = $2', [schema, 'users']));
        expect(idx.rows.map((r) => r.indexname)).toContain('users_username_skeleton_idx');
      } finally {
        await stores.close();
      }
    });

    it('4 instances starting together on a fresh schema: all succeed, the migrations run once', async () => {
      const schema = freshSchema();
      const applied: (readonly string[])[] = [];
      const all = await Promise.all(Array.from({ length: 4 }, () => open(schema, { onMigrated: (a) => applied.push(a) })));
      try {
        const names = Object.keys(gatehouseMigrations(postgresFlavor));
        expect(applied).toHaveLength(4);
        expect(applied.filter((a) => a.length > 0)).toEqual([names]);
        const recorded = await withTestClient((c) => c.query<{ name: string }>(`select name from "${schema}".kysely_migration order by name`));
        expect(recorded.rows.map((r) => r.name)).toEqual(names);
        const u = makeUser();
        await all[0]!.users.create(u);
        expect(await all[3]!.users.findById(u.id)).toEqual(u);
        await expect(all[2]!.users.create(makeUser({ usernameCanonical: u.usernameCanonical }))).rejects.toBeInstanceOf(UsernameTakenError);
        // Reopening an up-to-date schema applies nothing.
        const again: (readonly string[])[] = [];
        await (await open(schema, { onMigrated: (a) => again.push(a) })).close();
        expect(again).toEqual([[]]);
      } finally {
        await Promise.all(all.map((s) => s.close()));
      }
    });

    it('keeps schemas apart: a second schema on the same database gets its own tables', async () => {
      const [a, b] = await Promise.all([open(freshSchema()), open(freshSchema())]);
      try {
        await a.users.create(makeUser());
        expect(await a.users.list()).toHaveLength(1);
        expect(await b.users.list()).toEqual([]);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });

  });

  describe('outages become StoreUnavailableError within the timeouts, never a hang', () => {
    it('nothing listening (127.0.0.1:1): opening fails at once with StoreUnavailableError', async () => {
      const { ms, error } = await elapsed(openPostgresStores({ url: 'postgres://postgres:pw@127.0.0.1:1/test', clock, connectionTimeoutMs: 1000 }));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(JSON.stringify((error as Error).message)).not.toContain('pw');
      expect(ms).toBeLessThan(1500);
    });

    it('a server that accepts and never answers: opening fails after the connection timeout', async () => {
      const sockets = new Set<Socket>();
      const hole: Server = createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
      });
      await new Promise<void>((r) => hole.listen(0, '127.0.0.1', () => r()));
      const port = (hole.address() as { port: number }).port;
      try {
        const { ms, error } = await elapsed(openPostgresStores({ url: urlVia(port), clock, connectionTimeoutMs: 400 }));
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeGreaterThanOrEqual(350);
        expect(ms).toBeLessThan(2000);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => hole.close(() => r()));
      }
    });

    it('the server goes away and comes back: calls fail fast meanwhile, then the pool recovers', async () => {
      const target = new URL(TEST_DATABASE_URL);
      const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
      await proxy.start();
      const schema = freshSchema();
      const stores = await open(schema, { url: urlVia(proxy.port), connectionTimeoutMs: 500, statementTimeoutMs: 500 });
      try {
        const u = makeUser();
        await stores.users.create(u);
        await proxy.stop();
        const down = await elapsed(stores.users.findById(u.id));
        expect(down.error).toBeInstanceOf(StoreUnavailableError);
        expect(down.ms).toBeLessThan(1500);
        expect((await stores.ready()).users).toBe(false);
        await expect(stores.sessions.createReplacingDevice({ ...makeSessionFor(u.id) })).rejects.toBeInstanceOf(StoreUnavailableError);

        await proxy.start(); // same port
        // The circuit breaker opened on the first failure; its background check closes it.
        await stores.health.get('database')!.checkNow();
        expect(stores.health.parts().database).toMatchObject({ state: 'up', breaker: 'closed' });
        expect(await stores.users.findById(u.id)).toEqual(u);
        expect((await stores.ready()).users).toBe(true);
      } finally {
        await stores.close();
        await proxy.stop();
      }
    });

    it('the server stops answering mid-life (partition): a call fails within statement + connection timeout', async () => {
      const target = new URL(TEST_DATABASE_URL);
      const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
      await proxy.start();
      const stores = await open(freshSchema(), { url: urlVia(proxy.port), connectionTimeoutMs: 300, statementTimeoutMs: 300 });
      try {
        await stores.users.list();
        proxy.freeze();
        const { ms, error } = await elapsed(stores.users.list());
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(1500);
      } finally {
        await proxy.stop();
        await stores.close();
      }
    });

    it('statement_timeout bounds a query stuck behind a lock', async () => {
      const schema = freshSchema();
      const stores = await open(schema, { statementTimeoutMs: 300 });
      try {
        await withTestClient(async (c) => {
          await c.query('begin');
          await c.query(`lock table "${schema}".users in access exclusive mode`);
          try {
            const { ms, error } = await elapsed(stores.users.findById('x'));
            expect(error).toBeInstanceOf(StoreUnavailableError);
            expect(ms).toBeGreaterThanOrEqual(250);
            expect(ms).toBeLessThan(1500);
          } finally {
            await c.query('rollback');
          }
        });
        expect(await stores.users.findById('x')).toBeNull();
      } finally {
        await stores.close();
      }
    });
  });
});

describe.skipIf(!available)('PostgreSQL refresh rotation (READ COMMITTED, row locks)', () => {
  /** Waits until `n` backends of the test database wait for a lock (the rotations queued behind the held row). */
  async function lockWaiters(n: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await withTestClient((c) => c.query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"));
      if (Number(r.rows[0]!.n) >= n) return;
      await new Promise((res) => setTimeout(res, 10));
    }
    throw new Error(`fewer than ${n} backends waiting for a lock`);
  }

  it('two rotations of one token queued behind its session\'s row lock: one rotated, one already_rotated; the session keeps the winner\'s slide', async () => {
    const schema = freshSchema();
    const stores = await open(schema);
    try {
      const alice = makeUser();
      await stores.users.create(alice);
      const session = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(session);
      const old = { tokenHash: hashSecret('old'), sessionId: session.id, createdAt: T0, rotatedAt: null, clientId: null };
      await stores.refreshTokens.create(old);
      const next = (i: number) => ({ ...old, tokenHash: hashSecret(`next-${i}`), createdAt: T0 + 1 });
      const results = await withTestClient(async (c) => {
        await c.query('begin');
        await c.query(`select id from "${schema}".sessions where id = $1 for update`, [session.id]);
        const racing = [0, 1].map((i) => stores.refreshTokens.rotate(old.tokenHash, next(i), T0 + 1, T0 + 31 * DAY + i));
        try {
          await lockWaiters(2);
        } finally {
          await c.query('rollback');
        }
        return Promise.all(racing);
      });
      expect([...results].sort()).toEqual(['already_rotated', 'rotated']);
      const winner = results.indexOf('rotated');
      expect(await stores.sessions.findById(session.id)).toEqual({ ...session, lastSeenAt: T0 + 1, expiresAt: T0 + 31 * DAY + winner });
      const family = await stores.refreshTokens.listBySession(session.id);
      expect(family.filter((t) => t.rotatedAt === null).map((t) => t.tokenHash)).toEqual([next(winner).tokenHash]);
    } finally {
      await stores.close();
    }
  });
});

function makeSessionFor(userId: string): Parameters<Stores['sessions']['createReplacingDevice']>[0] {
  return {
    id: `s-${Math.random()}`,
    tokenHash: `h-${Math.random()}`,
    userId,
    deviceId: 'd',
    deviceName: null,
    csrfToken: 'c',
    persistent: true,
    createdAt: 1,
    lastSeenAt: 1,
    expiresAt: 2,
    absoluteExpiresAt: 3,
  };
}

describe('PostgreSQL error mapping', () => {
  const pgError = (code: string, message: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(message), { code, ...extra });

  it('maps connection loss, shutdown, timeouts and lock waits to StoreUnavailableError, keeping the cause', async () => {
    const causes = [
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      pgError('ECONNRESET', 'read ECONNRESET'),
      new AggregateError([pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')], ''),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout'),
      new Error('Query read timeout'),
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57014', 'canceling statement due to statement timeout'),
      pgError('08006', 'connection failure'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('55P03', 'canceling statement due to lock timeout'),
      pgError('40001', 'could not serialize access due to concurrent update'),
    ];
    for (const cause of causes) {
      const err = await guard(postgresFlavor, 'sessions', () => Promise.reject(cause)).catch((e: unknown) => e);
      expect(err, cause.message).toBeInstanceOf(StoreUnavailableError);
      expect((err as Error).cause).toBe(cause);
    }
  });

  it('reads the constraint of a unique violation and lets programming errors through', async () => {
    expect(postgresFlavor.classify(pgError('23505', 'duplicate key value violates unique constraint', { constraint: 'users_username_canonical_key' }))).toEqual({
      kind: 'unique_violation',
      constraint: 'users_username_canonical_key',
    });
    const bug = pgError('42703', 'column "nope" does not exist');
    await expect(guard(postgresFlavor, 'users', () => Promise.reject(bug))).rejects.toBe(bug);
    expect(postgresFlavor.classify(pgError('23503', 'violates foreign key constraint')).kind).toBe('other');
  });
});
