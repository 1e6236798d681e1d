import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteHandle = Database.Database;
/** A prepared statement taking positional parameters. */
export type SqliteStatement = Database.Statement<unknown[]>;

/** The embedded database's file name in the data directory. */
export const SQLITE_FILE_NAME = 'gatehouse.db';

/**
 * Opens (creating when missing) the SQLite file: WAL, busy_timeout 5000, foreign keys on,
 * synchronous NORMAL. A new file is created with mode 0600 (it holds password hashes);
 * SQLite gives the -wal and -shm files the same mode.
 */
export function openSqliteDatabase(file: string): SqliteHandle {
  const inMemory = file === ':memory:';
  if (!inMemory) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
  }
  const db = new Database(file, { timeout: 5000 });
  try {
    if (!inMemory) db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
