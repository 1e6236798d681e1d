import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PrivatePostgres } from './private-postgres.test-helpers.js';

// The fault suites rely on this helper: it must really stop, freeze and restart a server.
const pgServer = new PrivatePostgres();
if (!pgServer.available && process.env.CI) throw new Error('initdb/postgres not found: CI must run the private-PostgreSQL fault tests');

describe.skipIf(!pgServer.available)('PrivatePostgres (test helper)', () => {
  afterAll(() => pgServer.remove());

  it('starts, freezes (queries hang), resumes, stops and restarts with its data', async () => {
    await pgServer.start();
    const c = new pg.Client({ connectionString: pgServer.url, query_timeout: 500 });
    c.on('error', () => undefined);
    await c.connect();
    await c.query('create table t (x int)');
    await c.query('insert into t values (1)');
    pgServer.pause();
    await expect(c.query('select 1')).rejects.toThrow(/timeout/i);
    pgServer.resume();
    await c.end().catch(() => undefined);
    await pgServer.stop();
    expect(await pgServer.answers()).toBe(false);
    await pgServer.start();
    const c2 = new pg.Client({ connectionString: pgServer.url });
    await c2.connect();
    expect((await c2.query('select x from t')).rows).toEqual([{ x: 1 }]);
    await c2.end();
  });
});
