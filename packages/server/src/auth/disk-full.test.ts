/**
 * Issue 11 items 15 and 19: a full disk, for real — SQLite's `max_page_count` caps the database
 * file, so writes fail with SQLITE_FULL exactly as on a full file system. The client is told the
 * server cannot store data (503, not "try again shortly"), /readyz says degraded and names the
 * storage, and a later successful write brings it back.
 */
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatehouseDb } from '../stores/sql/schema.js';
import { createAuthHarness, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
/** The stores' own kysely handle (same SQLite connection, so the pragma applies to them). */
const dbOf = (harness: AuthHarness): Kysely<GatehouseDb> => (harness.deps.stores.users as unknown as { db: Kysely<GatehouseDb> }).db;

beforeEach(async () => {
  h = await createAuthHarness();
});
afterEach(async () => {
  await h.close();
});

async function fillDatabase(db: Kysely<GatehouseDb>): Promise<void> {
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(db);
  await sql.raw(`pragma max_page_count = ${rows[0]!.page_count}`).execute(db);
  // Use the free room of the last pages, down to rows smaller than any the service writes, so
  // the next insert needs a page that is not allowed. Names sort before the test's usernames
  // and grow, so every insert lands in the last page of each b-tree.
  let n = 0;
  for (const size of [200, 50, 0]) {
    for (;;) {
      const name = `a-${String(n++).padStart(6, '0')}`;
      try {
        await db.insertInto('users').values({ id: name, username: name, username_canonical: name, password_hash: 'x'.repeat(size), roles: '[]', created_at: 0, updated_at: 0 }).execute();
      } catch {
        break;
      }
      if (n > 20_000) throw new Error('the database never filled up');
    }
  }
}

describe('disk full (SQLITE_FULL for real)', () => {
  it('sign-up answers 503 saying the server cannot store data; /readyz says degraded and names the storage; back once writes fit', async () => {
    const db = dbOf(h);
    await fillDatabase(db);
    expect(h.deps.stores.health.parts().storage).toMatchObject({ state: 'down', code: 'SQLITE_FULL' });

    const res = await h.app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'full-disk', password: STRONG_PASSWORD } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = JSON.parse(res.body) as { code: string; detail: string };
    expect(problem.code).toBe('unavailable');
    expect(problem.detail).toMatch(/cannot store data/);
    expect(problem.detail).not.toMatch(/try again shortly/);
    expect(problem.detail).not.toMatch(/sqlite/i);

    const rz = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(rz.statusCode).toBe(200);
    expect(JSON.parse(rz.body)).toMatchObject({ status: 'degraded', stores: { users: true, sessions: true }, parts: { database: { state: 'up' }, storage: { state: 'down', code: 'SQLITE_FULL' } } });

    // Space again: the next write that fits brings the storage back.
    await sql.raw('pragma max_page_count = 1073741823').execute(db);
    const ok = await h.app.inject({ method: 'POST', url: '/auth/signup', payload: { username: 'room-again', password: STRONG_PASSWORD } });
    expect(ok.statusCode).toBe(201);
    expect(h.deps.stores.health.parts().storage!.state).toBe('up');
    expect(JSON.parse((await h.app.inject({ method: 'GET', url: '/readyz' })).body).status).toBe('ready');
  });
});
