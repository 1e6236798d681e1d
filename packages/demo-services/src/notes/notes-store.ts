import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Generated } from 'kysely';

interface NotesTable {
  seq: Generated<number>;
  id: string;
  owner_id: string;
  text: string;
  created_at: number;
  updated_at: number;
}

interface NotesDatabase {
  notes: NotesTable;
}

export interface Note {
  id: string;
  text: string;
  created_at: string;
  updated_at: string;
}

function toNote(row: Pick<NotesTable, 'id' | 'text' | 'created_at' | 'updated_at'>): Note {
  return {
    id: row.id,
    text: row.text,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

const COLUMNS = ['id', 'text', 'created_at', 'updated_at'] as const;

/**
 * The notes service's own database: one SQLite file (or memory), every query scoped to the owner,
 * so another user's note is indistinguishable from one that does not exist.
 */
export class NotesStore {
  readonly #db: Kysely<NotesDatabase>;

  private constructor(db: Kysely<NotesDatabase>) {
    this.#db = db;
  }

  static async open(dataDir?: string): Promise<NotesStore> {
    let file = ':memory:';
    if (dataDir !== undefined) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      file = join(dataDir, 'notes.db');
      // Private like gatehouse.db: created 0600, and a file an older version left 0644 is
      // tightened (SQLite gives its -wal and -shm files the mode of the database file).
      closeSync(openSync(file, 'a', 0o600));
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    }
    const sqlite = new Database(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    const db = new Kysely<NotesDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
    await db.schema
      .createTable('notes')
      .ifNotExists()
      .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('owner_id', 'text', (c) => c.notNull())
      .addColumn('text', 'text', (c) => c.notNull())
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('notes_owner_seq').ifNotExists().on('notes').columns(['owner_id', 'seq']).execute();
    return new NotesStore(db);
  }

  /** The owner's notes, newest first. */
  async list(ownerId: string): Promise<Note[]> {
    const rows = await this.#db.selectFrom('notes').select(COLUMNS).where('owner_id', '=', ownerId).orderBy('seq', 'desc').execute();
    return rows.map(toNote);
  }

  async get(ownerId: string, id: string): Promise<Note | undefined> {
    const row = await this.#db
      .selectFrom('notes')
      .select(COLUMNS)
      .where('owner_id', '=', ownerId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toNote(row);
  }

  async create(ownerId: string, text: string): Promise<Note> {
    const now = Date.now();
    const row = { id: randomUUID(), owner_id: ownerId, text, created_at: now, updated_at: now };
    await this.#db.insertInto('notes').values(row).execute();
    return toNote(row);
  }

  async update(ownerId: string, id: string, text: string): Promise<Note | undefined> {
    const row = await this.#db
      .updateTable('notes')
      .set({ text, updated_at: sql<number>`max(${Date.now()}, created_at)` })
      .where('owner_id', '=', ownerId)
      .where('id', '=', id)
      .returning(COLUMNS)
      .executeTakeFirst();
    return row && toNote(row);
  }

  /** True when the owner had such a note. */
  async delete(ownerId: string, id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('notes').where('owner_id', '=', ownerId).where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  close(): Promise<void> {
    return this.#db.destroy();
  }
}
