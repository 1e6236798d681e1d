#!/usr/bin/env node
// Does this machine run the same small piece of work slower when it comes after a pause the
// length of a password hash? A sign-in is exactly that: ~12 ms of argon2id, then a few SQLite
// writes and two HTTP hops. On the 2-vCPU VM the benchmarks ran on, the answer was yes, by
// several times, for SQLite writes and socket writes alike, whether the process slept or spun
// through the pause, and whatever the file system (/dev/shm too). So "sign-in minus one hash" in
// bench/signin.mjs carries this machine's penalty; this script measures it on yours.
// Bounded (~15 s), no network, temporary files only.
//   node bench/interval-penalty.mjs [--pause 12] [--n 150]
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const Database = require('better-sqlite3');

const { values } = parseArgs({ options: { pause: { type: 'string', default: '12' }, n: { type: 'string', default: '150' } } });
const PAUSE = Math.max(1, Math.min(Number(values.pause), 100));
const N = Math.max(20, Math.min(Number(values.n), 1000));

const dir = mkdtempSync(join(tmpdir(), 'gh-interval-'));
try {
  const db = new Database(join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('create table s (id text primary key, h text unique, u text, d text, x text)');
  db.exec('create index s_ud on s (u, d)');
  const insert = db.prepare('insert into s values (?, ?, ?, ?, ?)');
  const begin = db.prepare('begin immediate');
  const commit = db.prepare('commit');
  let k = 0;
  const sqliteTxn = () => {
    k++;
    begin.run();
    insert.run(`id${k}`, `h${k}`, 'u', `d${k}`, 'x'.repeat(100));
    commit.run();
  };
  const fd = openSync(join(dir, 'file'), 'w');
  const block = 'x'.repeat(4096);
  const fileWrites = () => {
    for (let i = 0; i < 4; i++) writeSync(fd, block);
  };
  const obj = { user: { id: 'abc', username: 'someone', roles: ['a', 'b'] }, session: { id: 'def', expires_at: new Date().toISOString() } };
  const json = () => {
    for (let i = 0; i < 50; i++) JSON.parse(JSON.stringify(obj));
  };

  const pauses = {
    'back to back': async () => {},
    [`after ${PAUSE} ms asleep`]: () => new Promise((r) => setTimeout(r, PAUSE)),
    [`after ${PAUSE} ms busy`]: async () => {
      const end = performance.now() + PAUSE;
      while (performance.now() < end);
    },
  };
  const work = { 'SQLite write transaction': sqliteTxn, '4 × 4 KiB file writes': fileWrites, '50 × JSON round trip': json };
  for (const w of Object.values(work)) for (let i = 0; i < 50; i++) w(); // warm up

  console.log(`| work (p50 µs, n = ${N}) | ${Object.keys(pauses).join(' | ')} |`);
  console.log(`| --- |${' ---: |'.repeat(Object.keys(pauses).length)}`);
  for (const [name, w] of Object.entries(work)) {
    const cells = [];
    for (const pause of Object.values(pauses)) {
      const t = [];
      for (let i = 0; i < N; i++) {
        await pause();
        const t0 = performance.now();
        w();
        t.push(performance.now() - t0);
      }
      t.sort((a, b) => a - b);
      cells.push((t[Math.floor(N / 2)] * 1000).toFixed(0));
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
  closeSync(fd);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
