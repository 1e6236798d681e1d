import { sql } from 'kysely';
import type { ErrorKind, SqlFlavor } from '../sql/flavor.js';

/** Result codes that mean "the database cannot answer now", not "the request is wrong". */
const UNAVAILABLE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL|NOMEM|INTERRUPT)/;
/** Messages of better-sqlite3 and kysely once the connection is closed or destroyed. */
const CLOSED_MESSAGES = /database connection is not open|driver has already been destroyed/i;

/** SQLite-specific bits of the SQL stores. */
export const sqliteFlavor: SqlFlavor = {
  name: 'sqlite',
  autoIncrementPk: { type: 'integer', build: (c) => c.primaryKey().autoIncrement() },
  classify(err: unknown): { kind: ErrorKind; constraint?: string } {
    if (!(err instanceof Error)) return { kind: 'other' };
    const code = (err as Error & { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        // Message: "UNIQUE constraint failed: users.username_canonical"
        const constraint = /constraint failed: (.*)$/.exec(err.message)?.[1];
        return constraint === undefined ? { kind: 'unique_violation' } : { kind: 'unique_violation', constraint };
      }
      if (UNAVAILABLE_CODES.test(code)) return { kind: 'unavailable' };
    }
    if (CLOSED_MESSAGES.test(err.message)) return { kind: 'unavailable' };
    return { kind: 'other' };
  },
  // BEGIN IMMEDIATE takes the write lock up front (waiting busy_timeout), where a plain BEGIN
  // could fail with SQLITE_BUSY_SNAPSHOT when upgrading a read to a write.
  // The write lock serializes every writer, so a compare-and-swap needs nothing more.
  rowLockTransaction(db, fn) {
    return sqliteFlavor.writeTransaction(db, fn);
  },
  lockUser: () => Promise.resolve(),
  writeTransaction(db, fn) {
    return db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw err;
      }
    });
  },
};
