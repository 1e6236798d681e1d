import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { problemFor, ServiceError } from './common/problem.js';

describe('problemFor', () => {
  it('hides everything about a server error', () => {
    const p = problemFor(new Error('SQLITE_CORRUPT at /var/lib/gatehouse/notes.db'));
    expect(p).toEqual({ type: 'urn:gatehouse:error:internal', title: 'Internal error', status: 500, detail: 'Internal error', code: 'internal' });
    expect(problemFor('a string')).toMatchObject({ status: 500, code: 'internal' });
    expect(problemFor(Object.assign(new Error('boom'), { statusCode: 503 }))).toMatchObject({ status: 500, detail: 'Internal error' });
  });

  it('keeps the detail of a deliberate client error', () => {
    expect(problemFor(new ServiceError('forbidden', 'No.'))).toMatchObject({ status: 403, code: 'forbidden', detail: 'No.' });
  });

  it('a full disk (a real SQLITE_FULL) is 503 unavailable saying the service cannot store data, not 500', () => {
    // max_page_count caps the file: the insert fails exactly as on a full file system.
    const db = new Database(':memory:');
    db.exec('create table t (x blob)');
    db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
    let err: unknown;
    try {
      for (let i = 0; i < 1000; i++) db.prepare('insert into t values (randomblob(4096))').run();
    } catch (e) {
      err = e;
    } finally {
      db.close();
    }
    expect((err as { code?: string }).code).toBe('SQLITE_FULL');
    const p = problemFor(err);
    expect(p).toMatchObject({ status: 503, code: 'unavailable' });
    expect(p.detail).toMatch(/cannot store data/);
    expect(p.detail).not.toMatch(/sqlite|try again shortly/i);
  });
});
