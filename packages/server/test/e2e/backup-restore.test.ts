import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, browser, runCli, signUpAndIn, startGatehouse, tempDataDir } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

/** runCli without blocking this process, so it can keep writing through the gateway meanwhile. */
function runCliAsync(args: string[], dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

function count(file: string, table: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

const PASSWORD = 'correct horse battery staple';

describe('gatehouse backup and restore', () => {
  it('backs up while gatehouse start runs and writes; the backup restores into a fresh data dir where the old password and API token work', { timeout: 180_000 }, async () => {
    const dataDir = dir();
    const out = dir();
    const file = join(out, 'gatehouse-backup.db');
    const gh = await startGatehouse(dataDir);
    let token: string;
    let writesDuring = 0;
    let reader: Database.Database | undefined;
    try {
      const web = await signUpAndIn(gh.url, 'backup-alice', PASSWORD);
      const csrf = { 'x-csrf-token': web.csrf! };
      // A reader holding a snapshot from here on keeps every later write in the WAL (no
      // checkpoint can pass it), so a copy of the database file alone would miss the token.
      reader = new Database(join(dataDir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
      reader.exec('BEGIN');
      reader.prepare('select count(*) from users').get();
      const made = await web.fetch('/auth/api-tokens', { method: 'POST', headers: csrf, json: { name: 'nightly', scopes: ['notes:read'] } });
      expect(made.status).toBe(201);
      token = ((await made.json()) as { token: string }).token;

      // Writes to the database (API tokens: no password hashing, so many of them) before and
      // while the backup runs.
      let backupRunning = false;
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop && i < 2000; i++) {
          const r = await web.fetch('/auth/api-tokens', { method: 'POST', headers: csrf, json: { name: `w${i}` } });
          expect(r.status).toBe(201);
          if (backupRunning) writesDuring++;
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      backupRunning = true;
      const backup = await runCliAsync(['backup', file], dataDir);
      backupRunning = false;
      stop = true;
      await writer;
      expect(backup.stderr).toBe('');
      expect(backup.code).toBe(0);
      expect(backup.stdout).toMatch(/^Backed up .*gatehouse\.db to .*gatehouse-backup\.db \(1 user, schema \S+, \d+ KiB\)\.$/m);
      expect(backup.stdout).toContain(`Back up the master key file ${join(dataDir, 'master.key')} with it`);
      expect(writesDuring).toBeGreaterThan(0);
    } finally {
      reader?.close();
      await gh.stop();
    }

    // A consistent, single-file copy, readable by its owner only.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(out)).toEqual(['gatehouse-backup.db']);
    expect(integrity(file)).toBe('ok');
    expect(count(file, 'users')).toBe(1);
    expect(count(file, 'api_tokens')).toBeGreaterThanOrEqual(2);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("select count(*) as n from api_tokens where name = 'nightly'").get()).toEqual({ n: 1 });
    db.close();

    // Restore into a fresh data directory that has the same master key.
    const fresh = dir();
    copyFileSync(join(dataDir, 'master.key'), join(fresh, 'master.key'));
    const restored = runCli(['restore', file], { dataDir: fresh });
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/^Restored .* \(1 user, schema \S+\)\.$/m);
    expect(statSync(join(fresh, 'gatehouse.db')).mode & 0o777).toBe(0o600);
    expect(readdirSync(fresh).sort()).toEqual(['gatehouse.db', 'master.key']);

    const again = await startGatehouse(fresh);
    try {
      const b = browser(again.url);
      const signin = await b.fetch('/auth/signin', { method: 'POST', json: { username: 'backup-alice', password: PASSWORD } });
      expect(signin.status).toBe(200);
      expect((await b.fetch('/api/home')).status).toBe(200);
      const who = await fetch(`${again.url}/api/home/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(who.status).toBe(200);
      expect(await who.json()).toMatchObject({ username: 'backup-alice', auth: 'api_token' });
    } finally {
      await again.stop();
    }
  });

  it('finishes a backup of a larger database while another process writes without pause', { timeout: 120_000 }, async () => {
    const dataDir = dir();
    expect(runCli(['keys', 'list'], { dataDir }).code).toBe(0);
    const dbFile = join(dataDir, 'gatehouse.db');
    const db = new Database(dbFile);
    db.exec('create table filler (id integer primary key, v text)');
    const insert = db.prepare('insert into filler (v) values (?)');
    db.transaction(() => {
      for (let i = 0; i < 100_000; i++) insert.run('x'.repeat(200));
    })();
    db.close();
    // Commits one row at a time for at most 20 s (or until stopped): a backup that copied in
    // small steps would start over after each of them and never finish.
    const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(dbFile)}, { timeout: 5000 });
      const ins = db.prepare('insert into filler (v) values (?)');
      const end = Date.now() + 20000; let n = 0;
      console.log('writing');
      while (Date.now() < end) { ins.run('y'.repeat(100)); n++; }
      console.log('wrote', n);`;
    const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let writerOut = '';
    writer.stdout.on('data', (d: Buffer) => (writerOut += d.toString()));
    const writerDone = new Promise((r) => writer.once('exit', r));
    try {
      await new Promise<void>((resolve) => writer.stdout.on('data', () => writerOut.includes('writing') && resolve()));
      const file = join(dir(), 'big.db');
      const backup = await runCliAsync(['backup', file], dataDir);
      // It finished while the writer was still committing.
      expect(writer.exitCode).toBe(null);
      expect(backup.code).toBe(0);
      expect(integrity(file)).toBe('ok');
      expect(count(file, 'filler')).toBeGreaterThan(100_000);
    } finally {
      writer.kill();
      await writerDone;
    }
  });

  it('refuses to overwrite a file unless --force, and with PostgreSQL points to pg_dump', { timeout: 120_000 }, () => {
    const dataDir = dir();
    expect(runCli(['users', 'add', 'bob'], { dataDir, input: 'a much better passphrase\n' }).code).toBe(0);
    const out = dir();
    const file = join(out, 'b.db');
    writeFileSync(file, 'precious', { mode: 0o644 });
    const refused = runCli(['backup', file], { dataDir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`gatehouse: ${file} exists already; pass --force to overwrite it.\n`);
    expect(readFileSync(file, 'utf8')).toBe('precious');
    const forced = runCli(['backup', file, '--force'], { dataDir });
    expect(forced.code).toBe(0);
    expect(integrity(file)).toBe('ok');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(out)).toEqual(['b.db']);

    const noDb = runCli(['backup', join(out, 'c.db')], { dataDir: join(out, 'nothing-here') });
    expect(noDb.code).toBe(1);
    expect(noDb.stderr).toMatch(/^gatehouse: There is no database at .*nothing to back up/);

    const pg = runCli(['backup', join(out, 'd.db')], { dataDir, env: { GATEHOUSE_DATABASE_URL: 'postgres://gatehouse@127.0.0.1:5432/gatehouse' } });
    expect(pg.code).toBe(1);
    expect(pg.stderr.trim().split('\n')).toHaveLength(1);
    expect(pg.stderr).toContain('pg_dump');
    const pgRestore = runCli(['restore', file], { dataDir, env: { GATEHOUSE_DATABASE_URL: 'postgres://gatehouse@127.0.0.1:5432/gatehouse' } });
    expect(pgRestore.code).toBe(1);
    expect(pgRestore.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, 'd.db'))).toBe(false);
    expect(runCli(['backup'], { dataDir }).code).toBe(2);
  });

  it('restore refuses what is not a sound Gatehouse backup, a running Gatehouse and a missing or wrong master key, changing nothing', { timeout: 180_000 }, async () => {
    const dataDir = dir();
    const out = dir();
    const good = join(out, 'good.db');
    expect(runCli(['users', 'add', 'carol'], { dataDir, input: 'a much better passphrase\n' }).code).toBe(0);
    expect(runCli(['backup', good], { dataDir }).code).toBe(0);
    const before = readFileSync(join(dataDir, 'gatehouse.db'));
    const entries = readdirSync(dataDir).sort();
    const unchanged = (): void => {
      expect(readdirSync(dataDir).sort()).toEqual(entries);
      expect(readFileSync(join(dataDir, 'gatehouse.db')).equals(before)).toBe(true);
    };
    const refuse = (file: string, message: RegExp, target = dataDir): void => {
      const r = runCli(['restore', file], { dataDir: target });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 1, stderr: expect.stringMatching(message) as unknown as string });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    };

    const text = join(out, 'notes.txt');
    writeFileSync(text, 'not a database at all');
    refuse(text, /is not a SQLite database \(no SQLite header\)/);

    const other = join(out, 'other.db');
    const o = new Database(other);
    o.exec('create table t (x)');
    o.close();
    refuse(other, /is a SQLite database, but not a Gatehouse one/);

    const newer = join(out, 'newer.db');
    copyFileSync(good, newer);
    const n = new Database(newer);
    n.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('9999_from_the_future', new Date().toISOString());
    n.close();
    refuse(newer, /was written by a newer Gatehouse \(schema 9999_from_the_future; this one knows up to \S+\)/);

    // Damage a page in the middle of the file (not the header): SQLite's own check finds it.
    const damaged = join(out, 'damaged.db');
    const bytes = readFileSync(good);
    const pageSize = bytes.readUInt16BE(16);
    for (let i = 2 * pageSize + 8; i < 3 * pageSize; i += 7) bytes[i] = 0xa5;
    writeFileSync(damaged, bytes);
    refuse(damaged, /integrity check|cannot be opened/);
    unchanged();

    // Another data directory's master key cannot decrypt this backup's signing keys; no key at all is refused too.
    const stranger = dir();
    expect(runCli(['keys', 'list'], { dataDir: stranger }).code).toBe(0);
    const strangerBefore = readFileSync(join(stranger, 'gatehouse.db'));
    refuse(good, /The master key \(.*master\.key\) cannot decrypt the signing keys in .*good\.db: use the master\.key saved with this backup/, stranger);
    expect(readFileSync(join(stranger, 'gatehouse.db')).equals(strangerBefore)).toBe(true);
    const keyless = dir();
    refuse(good, /There is no master key for .*good\.db: copy the master\.key saved with it to .*master\.key \(or set GATEHOUSE_MASTER_KEY\) first/, keyless);
    expect(readdirSync(keyless)).toEqual([]);

    // While gatehouse start has the database open.
    const gh = await startGatehouse(dataDir);
    try {
      refuse(good, /is in use by a running Gatehouse .*: stop it first, then restore\./);
      expect(readdirSync(dataDir).filter((f) => f.includes('before-restore') || f.includes('restoring'))).toEqual([]);
    } finally {
      await gh.stop();
    }

    // Stopped: the restore goes through and keeps the database it replaced.
    const ok = runCli(['restore', good], { dataDir });
    expect(ok.code).toBe(0);
    const kept = readdirSync(dataDir).filter((f) => /^gatehouse\.db\.before-restore-\d{8}T\d{6}Z$/.test(f));
    expect(kept).toHaveLength(1);
    expect(ok.stdout).toContain(`The database it replaced is kept as ${join(dataDir, kept[0]!)}.`);
    expect(integrity(join(dataDir, kept[0]!))).toBe('ok');
    expect(statSync(join(dataDir, 'gatehouse.db')).mode & 0o777).toBe(0o600);
    expect(runCli(['users', 'list'], { dataDir }).stdout).toMatch(/carol/);

    // A second restore within the same second keeps both earlier databases: the names of the
    // next 60 s are taken already, and none of them is written over.
    const taken: string[] = [];
    for (let s = 0; s < 60; s++) {
      const name = `gatehouse.db.before-restore-${new Date(Date.now() + s * 1000).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
      writeFileSync(join(dataDir, name), 'earlier');
      taken.push(name);
    }
    const second = runCli(['restore', good], { dataDir });
    expect(second.code).toBe(0);
    for (const name of taken) expect(readFileSync(join(dataDir, name), 'utf8')).toBe('earlier');
    expect(readdirSync(dataDir).filter((f) => /^gatehouse\.db\.before-restore-\d{8}T\d{6}Z-2$/.test(f))).toHaveLength(1);
  });
});
