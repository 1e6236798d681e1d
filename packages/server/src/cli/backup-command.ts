import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import type { GatehouseConfig } from '../config/types.js';
import { checkMasterKeyOpens } from '../crypto/keyring.js';
import { loadOrCreateMasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE } from '../crypto/master-key.js';
import { gatehouseMigrations } from '../stores/sql/migrations.js';
import { SQLITE_FILE_NAME } from '../stores/sqlite/database.js';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import { sqliteFlavor } from '../stores/sqlite/sqlite-flavor.js';
import { systemClock } from '../util/clock.js';
import { BackupRefused } from './backup-refused.js';


const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
/** Kysely's migration table: the schema version a database is at. */
const MIGRATION_TABLE = 'kysely_migration';

function masterKeyAdvice(config: GatehouseConfig, dataDir: string): string {
  return config.masterKey !== null && config.masterKey.trim() !== ''
    ? `Keep the value of ${MASTER_KEY_ENV} with this backup: without that master key the signing keys in it cannot be decrypted.`
    : `Back up the master key file ${join(dataDir, MASTER_KEY_FILE)} with it (keep it as secret as the backup): without it the signing keys in this backup cannot be decrypted.`;
}

function refusePostgres(config: GatehouseConfig, command: 'backup' | 'restore'): void {
  if (config.databaseUrl === null) return;
  throw new BackupRefused(
    command === 'backup'
      ? `gatehouse backup copies the embedded SQLite database, and this Gatehouse uses PostgreSQL (GATEHOUSE_DATABASE_URL): back that up with pg_dump, and keep ${MASTER_KEY_ENV} with it.`
      : `gatehouse restore restores the embedded SQLite database, and this Gatehouse uses PostgreSQL (GATEHOUSE_DATABASE_URL): restore a pg_dump with pg_restore or psql.`,
  );
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** What a database file holds: its schema version and how many users, after SQLite's own check. */
interface Checked {
  migrations: string[];
  users: number;
}

/**
 * Opens `file` and checks that it is sound (integrity_check) and a Gatehouse database this build
 * can run: it has the migration table and no migration this build does not know.
 */
function checkDatabase(file: string, label: string): Checked {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (err) {
    throw new BackupRefused(`${label} cannot be opened as a SQLite database (${(err as { code?: string }).code ?? (err as Error).message}).`);
  }
  try {
    let problems: string[];
    try {
      problems = (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    } catch (err) {
      problems = [(err as Error).message];
    }
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new BackupRefused(`${label} fails SQLite's integrity check (${problems[0] ?? 'no answer'}${problems.length > 1 ? `, and ${problems.length - 1} more` : ''}); it is damaged.`);
    }
    const tables = new Set((db.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
    if (!tables.has(MIGRATION_TABLE) || !tables.has('users')) {
      throw new BackupRefused(`${label} is a SQLite database, but not a Gatehouse one (it has no ${tables.has(MIGRATION_TABLE) ? 'users' : 'migration'} table).`);
    }
    const migrations = (db.prepare(`select name from ${MIGRATION_TABLE} order by name`).all() as Array<{ name: string }>).map((r) => r.name);
    const known = Object.keys(gatehouseMigrations(sqliteFlavor));
    const newer = migrations.filter((m) => !known.includes(m));
    if (newer.length > 0) {
      throw new BackupRefused(
        `${label} was written by a newer Gatehouse (schema ${newer[newer.length - 1]}; this one knows up to ${known[known.length - 1]}): restore it with that version or a later one.`,
      );
    }
    const users = (db.prepare('select count(*) as n from users').get() as { n: number }).n;
    return { migrations, users };
  } finally {
    db.close();
  }
}

/**
 * Refuses while another process has the database open: a running `gatehouse start`, `gateway`
 * or `auth`, or a CLI command. In WAL mode every open connection holds a shared lock on the file
 * for as long as it is open, so an exclusive lock is granted only to a connection that is alone.
 */
function refuseWhileInUse(dbFile: string): void {
  if (!existsSync(dbFile)) return;
  const db = new Database(dbFile, { fileMustExist: true, timeout: 1000 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new BackupRefused(`${dbFile} is in use by a running Gatehouse (gatehouse start, gateway or auth, or a CLI command): stop it first, then restore.`);
    }
    throw err;
  } finally {
    // The last connection to close folds the WAL into the file, so the old database stands alone.
    db.close();
  }
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * `gatehouse backup <file> [--force]`: a consistent copy of the embedded database, taken with
 * SQLite's online backup API, so it works while Gatehouse runs and writes. The copy is a single
 * file (rollback journal, not WAL), created with mode 0600; an existing file is kept unless
 * `--force`.
 */
export async function runBackup(config: GatehouseConfig, args: string[], options: { force: boolean }): Promise<number> {
  if (args.length !== 1 || args[0] === '') {
    process.stderr.write('Usage: gatehouse backup <file> [--force]\n');
    return 2;
  }
  refusePostgres(config, 'backup');
  const dataDir = resolve(config.dataDir);
  const dbFile = join(dataDir, SQLITE_FILE_NAME);
  const target = resolve(args[0]!);
  if (!existsSync(dbFile)) throw new BackupRefused(`There is no database at ${dbFile}, so nothing to back up (is GATEHOUSE_DATA_DIR or --data-dir right?).`);
  if (target === dbFile || (dirname(target) === dataDir && basename(target).startsWith(SQLITE_FILE_NAME))) {
    throw new BackupRefused(`Write the backup outside the database's own files (${dbFile}*).`);
  }
  if (!existsSync(dirname(target))) throw new BackupRefused(`The directory ${dirname(target)} does not exist.`);
  if (existsSync(target) && !options.force) throw new BackupRefused(`${target} exists already; pass --force to overwrite it.`);

  // Written beside the target, then moved in place: a failed or interrupted backup leaves no
  // half-written file under the target's name.
  const partial = `${target}.partial-${process.pid}`;
  closeSync(openSync(partial, 'wx', 0o600));
  let checked: Checked;
  try {
    const source = new Database(dbFile, { fileMustExist: true, timeout: 5000 });
    try {
      // After the first step, copy what is left in one step: a step that a concurrent write
      // interrupts starts again, and small steps under steady writes might never finish.
      await source.backup(partial, { progress: () => 0x7fffffff });
    } finally {
      source.close();
    }
    const copy = new Database(partial, { fileMustExist: true });
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    checked = checkDatabase(partial, 'The copy');
    fsyncPath(partial);
    if (options.force) {
      renameSync(partial, target);
    } else {
      // A link fails when the name was taken meanwhile: never overwrite without --force.
      try {
        linkSync(partial, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BackupRefused(`${target} exists already; pass --force to overwrite it.`);
        throw err;
      }
      unlinkSync(partial);
    }
    fsyncPath(dirname(target));
  } catch (err) {
    if (existsSync(partial)) unlinkSync(partial);
    throw err;
  }
  const size = statSync(target).size;
  process.stdout.write(
    `Backed up ${dbFile} to ${target} (${checked.users} user${checked.users === 1 ? '' : 's'}, schema ${checked.migrations[checked.migrations.length - 1] ?? 'empty'}, ${Math.max(1, Math.round(size / 1024))} KiB).\n`,
  );
  process.stdout.write(`${masterKeyAdvice(config, dataDir)}\n`);
  return 0;
}

/**
 * `gatehouse restore <file>`: checks a backup (SQLite header, integrity, Gatehouse schema not
 * newer than this build, signing keys that this data directory's master key decrypts), refuses
 * while a Gatehouse process has the database open, keeps the current database as
 * `gatehouse.db.before-restore-<time>`, and moves a 0600 copy of the backup in its place.
 */
export async function runRestore(config: GatehouseConfig, args: string[]): Promise<number> {
  if (args.length !== 1 || args[0] === '') {
    process.stderr.write('Usage: gatehouse restore <file>\n');
    return 2;
  }
  refusePostgres(config, 'restore');
  const source = resolve(args[0]!);
  const dataDir = resolve(config.dataDir);
  const dbFile = join(dataDir, SQLITE_FILE_NAME);
  if (!existsSync(source)) throw new BackupRefused(`There is no file ${source}.`);
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(source, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.equals(SQLITE_HEADER)) throw new BackupRefused(`${source} is not a SQLite database (no SQLite header), so not a Gatehouse backup.`);
  if (existsSync(`${source}-wal`) && statSync(`${source}-wal`).size > 0) {
    throw new BackupRefused(`${source} has a write-ahead log beside it (${source}-wal): it is a live database, not a backup; make one with gatehouse backup.`);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  refuseWhileInUse(dbFile);

  const staging = join(dataDir, `.${SQLITE_FILE_NAME}.restoring-${process.pid}`);
  let checked: Checked;
  try {
    // Checked as a copy in the data directory, so the operator's backup file is never written to.
    await pipeline(createReadStream(source), createWriteStream(staging, { flags: 'wx', mode: 0o600 }));
    checked = checkDatabase(staging, source);
    await checkSigningKeys(config, dataDir, staging, source);
    fsyncPath(staging);
    refuseWhileInUse(dbFile);
    let kept: string | null = null;
    if (existsSync(dbFile)) {
      // Never over an earlier one (two restores within a second).
      const base = `${dbFile}.before-restore-${stamp(Date.now())}`;
      kept = base;
      for (let n = 2; existsSync(kept) || existsSync(`${kept}-wal`); n++) kept = `${base}-${n}`;
      renameSync(dbFile, kept);
      // Leftovers of a crash travel with their database, so SQLite still pairs them.
      for (const suffix of ['-wal', '-shm']) if (existsSync(dbFile + suffix)) renameSync(dbFile + suffix, kept + suffix);
    }
    renameSync(staging, dbFile);
    fsyncPath(dataDir);
    process.stdout.write(
      `Restored ${source} into ${dbFile} (${checked.users} user${checked.users === 1 ? '' : 's'}, schema ${checked.migrations[checked.migrations.length - 1] ?? 'empty'}).\n`,
    );
    if (kept !== null) process.stdout.write(`The database it replaced is kept as ${kept}.\n`);
    process.stdout.write('Sessions, API tokens and users are as they were when the backup was made: anything revoked since is valid again.\n');
    return 0;
  } finally {
    if (existsSync(staging)) unlinkSync(staging);
  }
}

/**
 * Refuses a backup whose signing keys this data directory's master key cannot decrypt: Gatehouse
 * would not start on it. Opening the copy brings its schema up to this build's, as start would.
 */
async function checkSigningKeys(config: GatehouseConfig, dataDir: string, staging: string, label: string): Promise<void> {
  const stores = await openSqliteStores({ file: staging, clock: systemClock });
  try {
    const keys = await stores.keys.list();
    if (keys.length === 0) return;
    const configured = config.masterKey !== null && config.masterKey.trim() !== '';
    const keyFile = join(dataDir, MASTER_KEY_FILE);
    if (!configured && !existsSync(keyFile)) {
      throw new BackupRefused(`There is no master key for ${label}: copy the ${MASTER_KEY_FILE} saved with it to ${keyFile} (or set ${MASTER_KEY_ENV}) first.`);
    }
    const masterKey = await loadOrCreateMasterKey({ configured: config.masterKey, dataDir, required: false });
    try {
      await checkMasterKeyOpens(keys, masterKey.key, systemClock.now());
    } catch {
      throw new BackupRefused(
        `The master key (${configured ? MASTER_KEY_ENV : keyFile}) cannot decrypt the signing keys in ${label}: use the ${MASTER_KEY_FILE} saved with this backup.`,
      );
    }
  } finally {
    await stores.close();
  }
}
