import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeMasterKeyInput, loadOrCreateMasterKey } from './master-key.js';

const root = mkdtempSync(join(tmpdir(), 'gatehouse-mk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => mkdtempSync(join(root, `d${++n}-`));

describe('loadOrCreateMasterKey', () => {
  it('generates <dataDir>/master.key with mode 0600 once, then reuses it', async () => {
    const dataDir = freshDir();
    const first = await loadOrCreateMasterKey({ configured: null, dataDir, required: false });
    expect(first.source).toBe('generated');
    expect(first.file).toBe(join(dataDir, 'master.key'));
    expect(first.key).toHaveLength(32);
    expect(statSync(first.file!).mode & 0o777).toBe(0o600);
    const second = await loadOrCreateMasterKey({ configured: null, dataDir, required: false });
    expect(second.source).toBe('file');
    expect(Buffer.from(second.key).equals(Buffer.from(first.key))).toBe(true);
  });

  it('uses a key derived from the file content (not the content itself), which also works as GATEHOUSE_MASTER_KEY', async () => {
    const dataDir = freshDir();
    const gen = await loadOrCreateMasterKey({ configured: null, dataDir, required: false });
    const text = readFileSync(gen.file!, 'utf8').trim();
    expect(Buffer.from(gen.key).equals(Buffer.from(decodeMasterKeyInput(text)!))).toBe(false);
    const env = await loadOrCreateMasterKey({ configured: text, dataDir: freshDir(), required: true });
    expect(Buffer.from(env.key).equals(Buffer.from(gen.key))).toBe(true);
  });

  it('agrees on one key when several processes start together', async () => {
    const dataDir = freshDir();
    const all = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateMasterKey({ configured: null, dataDir, required: false })));
    expect(all.filter((k) => k.source === 'generated')).toHaveLength(1);
    for (const k of all) expect(Buffer.from(k.key).equals(Buffer.from(all[0]!.key))).toBe(true);
  });

  it('tightens a key file that others can read', async () => {
    const dataDir = freshDir();
    const file = join(dataDir, 'master.key');
    writeFileSync(file, randomBytes(32).toString('base64'));
    chmodSync(file, 0o644);
    await loadOrCreateMasterKey({ configured: null, dataDir, required: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('accepts base64, base64url and hex of >= 32 bytes from GATEHOUSE_MASTER_KEY, the same bytes giving the same key', async () => {
    const raw = randomBytes(32);
    const keys = await Promise.all(
      [raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'), `  ${raw.toString('base64')}\n`].map((configured) =>
        loadOrCreateMasterKey({ configured, dataDir: freshDir(), required: true }),
      ),
    );
    for (const k of keys) {
      expect(k.source).toBe('env');
      expect(k.file).toBeUndefined();
      expect(Buffer.from(k.key).equals(Buffer.from(keys[0]!.key))).toBe(true);
    }
    const longer = await loadOrCreateMasterKey({ configured: randomBytes(64).toString('base64'), dataDir: freshDir(), required: true });
    expect(longer.key).toHaveLength(32);
  });

  it('refuses bad values, naming GATEHOUSE_MASTER_KEY and how to make one, without echoing the value', async () => {
    for (const configured of ['short', randomBytes(31).toString('base64'), randomBytes(16).toString('hex'), 'not base64 at all!!', '€'.repeat(40)]) {
      const err = await loadOrCreateMasterKey({ configured, dataDir: freshDir(), required: false }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain('GATEHOUSE_MASTER_KEY');
      expect((err as Error).message).toContain('openssl rand -base64 32');
      expect((err as Error).message).not.toContain(configured);
    }
  });

  it('refuses to start without GATEHOUSE_MASTER_KEY when required, and writes no file', async () => {
    const dataDir = freshDir();
    await expect(loadOrCreateMasterKey({ configured: null, dataDir, required: true })).rejects.toThrow(/GATEHOUSE_MASTER_KEY/);
    await expect(loadOrCreateMasterKey({ configured: '', dataDir, required: true })).rejects.toThrow(/GATEHOUSE_MASTER_KEY/);
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow();
  });

  it('refuses a corrupt key file, naming it and the variable', async () => {
    const dataDir = freshDir();
    writeFileSync(join(dataDir, 'master.key'), 'garbage', { mode: 0o600 });
    await expect(loadOrCreateMasterKey({ configured: null, dataDir, required: false })).rejects.toThrow(/master\.key.*GATEHOUSE_MASTER_KEY/);
  });
});
