import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes the check writes: more than a few SQLite pages, so "it fits" means a write of the stores would too. */
const CHECK_BYTES = 64 * 1024;
const CHECK_FILE = '.gatehouse-write-check';

/**
 * Whether data can still be written to `dir`: writes 64 KiB to a scratch file, fsyncs it and
 * removes it. Rejects with the system's error (ENOSPC on a full disk, EROFS, EACCES).
 */
export async function checkWritable(dir: string): Promise<void> {
  const file = join(dir, CHECK_FILE);
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.write(Buffer.alloc(CHECK_BYTES));
    await fh.sync();
  } finally {
    await fh.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
  }
}
