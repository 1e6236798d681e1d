#!/usr/bin/env node
// `npm test`: type-check + build, lint, then every vitest suite; ends with one plain
// "tests: N passed, N failed, N skipped" line that CI reads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  return r.status ?? 1;
}

const npx = 'npx';
if (run('npm', ['run', '--silent', 'typecheck']) !== 0) {
  console.error('\nType-check failed.');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}
if (run(npx, ['eslint', '.']) !== 0) {
  console.error('\nLint failed.');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-vitest-'));
const out = join(dir, 'results.json');
const code = run(npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)]);
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests;
  failed = r.numFailedTests + (r.numFailedTestSuites ?? 0);
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} catch {
  failed = Math.max(failed, 1);
}
rmSync(dir, { recursive: true, force: true });
if (code !== 0 && failed === 0) failed = 1;
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
