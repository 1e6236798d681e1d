// Preloaded into a Gatehouse process with `--import` by bench/token-storm.mjs (not a benchmark
// itself): counts the SQLite write transactions the process commits, at better-sqlite3's API,
// the one door every SQLite query of the stores goes through (kysely's driver runs BEGIN, each
// statement and COMMIT as prepared statements: run() or, for readers and RETURNING, all()).
// A write transaction is a COMMIT after at least one INSERT/UPDATE/DELETE/REPLACE since BEGIN,
// or such a statement run outside a transaction (autocommit); write statements are counted
// too, and all statements (BEGIN and COMMIT included). On SIGUSR2 the counts go, as JSON, to the file named by GATEHOUSE_BENCH_WRITES_FILE.
// Cost: a regex test and a property read per statement.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.GATEHOUSE_BENCH_WRITES_FILE;
const require = createRequire(new URL('../packages/server/package.json', import.meta.url));
const Database = require('better-sqlite3');
const probe = new Database(':memory:');
const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();

const counts = { writeTransactions: 0, writeStatements: 0, statements: 0, commits: 0, rollbacks: 0 };
let writeInTransaction = false;
const WRITE = /^\s*(insert|update|delete|replace)\b/i;
const BEGIN = /^\s*begin\b/i;
const COMMIT = /^\s*(commit|end)\b/i;
const ROLLBACK = /^\s*rollback\b/i;

/** Each statement's kind, read from its SQL once (reading `source` makes a string each time). */
const kinds = new WeakMap();
const OTHER = 0;
const WRITE_KIND = 1;
const BEGIN_KIND = 2;
const COMMIT_KIND = 3;
const ROLLBACK_KIND = 4;

function kindOf(stmt) {
  let kind = kinds.get(stmt);
  if (kind === undefined) {
    const sql = stmt.source;
    kind = WRITE.test(sql) ? WRITE_KIND : BEGIN.test(sql) ? BEGIN_KIND : COMMIT.test(sql) ? COMMIT_KIND : ROLLBACK.test(sql) ? ROLLBACK_KIND : OTHER;
    kinds.set(stmt, kind);
  }
  return kind;
}

function before(stmt) {
  counts.statements++;
  const kind = kindOf(stmt);
  if (kind === OTHER) return;
  if (kind === WRITE_KIND) {
    counts.writeStatements++;
    if (stmt.database.inTransaction) writeInTransaction = true;
    else counts.writeTransactions++;
  } else if (kind === BEGIN_KIND) {
    writeInTransaction = false;
  } else if (kind === COMMIT_KIND) {
    counts.commits++;
    if (writeInTransaction) counts.writeTransactions++;
    writeInTransaction = false;
  } else {
    counts.rollbacks++;
    writeInTransaction = false;
  }
}

for (const name of ['run', 'all', 'get', 'iterate']) {
  const original = Statement[name];
  // In a CPU profile this wrapper ("Statement.<computed>", this file) carries SQLite's own time:
  // the native call it makes has no frame of its own.
  Statement[name] = function (...args) {
    before(this);
    return original.apply(this, args);
  };
}

if (file) process.on('SIGUSR2', () => writeFileSync(file, JSON.stringify(counts)));
