import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from './database.js';
import { cachedStatements } from './statement-cache.js';

describe('cachedStatements', () => {
  it('prepares a statement once per SQL text and runs it with new parameters each time', () => {
    const raw = openSqliteDatabase(':memory:');
    const db = cachedStatements(raw);
    raw.exec('create table t (k text primary key, v integer)');
    const insert = db.prepare('insert into t (k, v) values (?, ?)');
    expect(db.prepare('insert into t (k, v) values (?, ?)')).toBe(insert);
    insert.run(['a', 1]);
    db.prepare('insert into t (k, v) values (?, ?)').run(['b', 2]);
    const select = db.prepare('select v from t where k = ?');
    expect(select.reader).toBe(true);
    expect(select.all(['a'])).toEqual([{ v: 1 }]);
    expect(db.prepare('select v from t where k = ?').all(['b'])).toEqual([{ v: 2 }]);
    db.close();
    expect(raw.open).toBe(false);
  });

  it('a kept statement sees schema changes made after it was prepared (migrations)', () => {
    const raw = openSqliteDatabase(':memory:');
    const db = cachedStatements(raw);
    raw.exec('create table t (k text)');
    const select = db.prepare('select * from t');
    raw.exec("alter table t add column v integer default 7; insert into t (k) values ('x')");
    expect(db.prepare('select * from t')).toBe(select);
    expect(select.all([])).toEqual([{ k: 'x', v: 7 }]);
    db.close();
  });
});
