import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempDataDir } from './harness.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('gatehouse users reset-link / require-password-change (issue 18)', () => {
  it('prints a reset link once (only its hash stored), and sets the forced-change flag', () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    expect(runCli(['users', 'add', 'olga'], { dataDir, input: 'a long cli passphrase 1\n' }).code).toBe(0);
    const env = { GATEHOUSE_PUBLIC_URL: 'https://auth.example.com' };
    const link = runCli(['users', 'reset-link', 'OLGA'], { dataDir, env });
    expect(link.code, link.stderr).toBe(0);
    expect(link.stdout).toMatch(/^https:\/\/auth\.example\.com\/reset-password#token=[A-Za-z0-9_-]{43}\n$/);
    expect(link.stderr).toMatch(/works once/);
    const token = link.stdout.trim().split('#token=')[1]!;
    const changed = runCli(['users', 'require-password-change', 'olga'], { dataDir });
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/olga must choose a new password/);
    const db = new Database(join(dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const tokens = db.prepare('select token_hash, purpose from email_tokens').all();
      expect(tokens).toEqual([{ token_hash: createHash('sha256').update(token).digest('base64url'), purpose: 'reset' }]);
      expect(db.prepare('select password_change_required from users where username_canonical = ?').get('olga')).toEqual({ password_change_required: 1 });
      const types = (db.prepare('select type, detail from audit_events order by at').all() as { type: string; detail: string }[]).map((e) => [e.type, e.detail]);
      expect(types).toEqual(expect.arrayContaining([['password.reset_link_created', '{"by":"cli"}'], ['password.change_required', '{"by":"cli"}']]));
    } finally {
      db.close();
    }
    const unknown = runCli(['users', 'reset-link', 'nobody'], { dataDir });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/No user has that username/);
  });
});
