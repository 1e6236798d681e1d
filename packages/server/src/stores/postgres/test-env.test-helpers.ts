/**
 * Test environment of the scale-out suites: which PostgreSQL (and Redis) to use, and what to do
 * when it is missing. On CI (`CI` set) a missing server fails the suite loudly; elsewhere the
 * suite is skipped with one clear console line. No vitest import (shared by several files).
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';

export const TEST_DATABASE_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Returns true when `probe` succeeds. Otherwise: on CI throws (a top-level await of this in a
 * test file fails that file), elsewhere prints "<what> not reachable at <where>; <suite>
 * skipped" and returns false.
 */
export async function requireTestService(what: string, where: string, suite: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (process.env.CI) {
      throw new Error(`${what} not reachable at ${where} (${reason}); CI must run the ${suite}. Start it as DEVELOPERS.md says.`);
    }
    console.warn(`${what} not reachable at ${where}; ${suite} skipped (${reason})`);
    return false;
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Connects and runs `select 1`; creates the test database when the server answers but it is missing. */
async function probePostgres(url: string): Promise<void> {
  try {
    await withClient(url, (c) => c.query('select 1'));
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.slice(1));
    u.pathname = '/postgres';
    await withClient(u.toString(), (c) => c.query(`create database "${database.replace(/"/g, '""')}"`)).catch((e: unknown) => {
      if ((e as { code?: string }).code !== '42P04') throw e; // created by a parallel file meanwhile
    });
    await withClient(url, (c) => c.query('select 1'));
  }
}

/** Top-level check of a PostgreSQL test file: true when the server answers (see requireTestService). */
export function requirePostgres(url = TEST_DATABASE_URL, suite = 'scale-out store tests'): Promise<boolean> {
  return requireTestService('PostgreSQL', redactUrl(url), suite, () => probePostgres(url));
}

/** Top-level check of a Redis test file: true when `redis-server` can be started (see requireTestService). */
export function requireRedisServerBinary(bin = process.env.GATEHOUSE_TEST_REDIS_SERVER ?? 'redis-server'): Promise<boolean> {
  return requireTestService('redis-server', `PATH (${bin})`, 'Redis scale-out tests', async () => {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`exit ${r.status}`);
  });
}

/** A fresh schema name for one test file or one store instance: gh_test_<random>. */
export function testSchemaName(prefix = 'gh_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Drops schemas created by a test file (cascade). */
export async function dropSchemas(schemas: Iterable<string>, url = TEST_DATABASE_URL): Promise<void> {
  const list = [...schemas];
  if (list.length === 0) return;
  await withClient(url, async (c) => {
    for (const s of list) await c.query(`drop schema if exists "${s.replace(/"/g, '""')}" cascade`);
  });
}

/** Runs SQL on the test database outside the stores (to inspect rows, or hold locks). */
export function withTestClient<T>(fn: (c: pg.Client) => Promise<T>, url = TEST_DATABASE_URL): Promise<T> {
  return withClient(url, fn);
}
