import { randomBytes, hkdfSync } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MASTER_KEY_ENV = 'GATEHOUSE_MASTER_KEY';
export const MASTER_KEY_FILE = 'master.key';
const HOW_TO_MAKE = 'make one with `openssl rand -base64 32`';

export interface MasterKey {
  /** 32 bytes derived with HKDF-SHA256 from the configured or stored input; never log it. */
  key: Uint8Array;
  source: 'env' | 'file' | 'generated';
  /** The key file, when source is 'file' or 'generated'. */
  file?: string;
}

/**
 * Decodes a master key as written by an operator: hex, or base64 / base64url (padding
 * optional). Returns null when it is not one of those or holds fewer than 32 bytes.
 */
export function decodeMasterKeyInput(text: string): Uint8Array | null {
  const s = text.trim();
  let bytes: Buffer;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(s)) bytes = Buffer.from(s, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) bytes = Buffer.from(s.replace(/=+$/, ''), 'base64');
  else return null;
  return bytes.length >= 32 ? new Uint8Array(bytes) : null;
}

/** The key actually used: HKDF-SHA256 of the input, bound to its purpose. */
function derive(input: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', input, 'gatehouse', 'gatehouse master key v1: signing key encryption', 32));
}

function badKey(where: string): Error {
  return new Error(`${where} is not a valid master key: it must be at least 32 random bytes, base64 or hex encoded; ${HOW_TO_MAKE}.`);
}

/**
 * Loads the master key that encrypts private signing keys: from GATEHOUSE_MASTER_KEY when set,
 * else from `<dataDir>/master.key`, generating that file (mode 0600) on first start. With
 * `required` (shared database), the variable must be set so every instance has the same key.
 */
export async function loadOrCreateMasterKey(options: { configured: string | null; dataDir: string; required: boolean }): Promise<MasterKey> {
  const { configured, dataDir, required } = options;
  if (configured !== null && configured.trim() !== '') {
    const input = decodeMasterKeyInput(configured);
    if (!input) throw badKey(MASTER_KEY_ENV);
    return { key: derive(input), source: 'env' };
  }
  if (required) {
    throw new Error(`${MASTER_KEY_ENV} is required with a shared database: every instance needs the same master key; ${HOW_TO_MAKE}.`);
  }

  const file = join(dataDir, MASTER_KEY_FILE);
  const fresh = randomBytes(32).toString('base64url');
  try {
    // Exclusive create: when two processes start together, one wins and both use its key.
    await writeFile(file, `${fresh}\n`, { flag: 'wx', mode: 0o600 });
    return { key: derive(decodeMasterKeyInput(fresh)!), source: 'generated', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: derive(await readKeyFile(file)), source: 'file', file };
}

async function readKeyFile(file: string): Promise<Uint8Array> {
  // The winner of a creation race may not have written yet: retry briefly on an empty file.
  for (let attempt = 0; ; attempt++) {
    const text = await readFile(file, 'utf8');
    if (text.trim() === '' && attempt < 40) {
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    const input = decodeMasterKeyInput(text);
    if (!input) throw badKey(`${file} (used when ${MASTER_KEY_ENV} is unset)`);
    // Tighten a key file that others can read.
    if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
    return input;
  }
}
