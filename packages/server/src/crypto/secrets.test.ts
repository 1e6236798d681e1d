import * as nodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Counts the CSPRNG calls randomId makes (the pool is the behaviour under test).
vi.mock('node:crypto', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:crypto')>();
  return { ...orig, randomBytes: vi.fn(orig.randomBytes), randomFillSync: vi.fn(orig.randomFillSync) };
});

const { randomId, randomSecret } = await import('./secrets.js');

describe('randomId', () => {
  it('draws 16-byte ids from a 4 KiB pool: one CSPRNG fill per 256 ids, none per id', () => {
    randomId(); // whatever the pool held before, start counting from a known state
    const fills = vi.mocked(nodeCrypto.randomFillSync);
    const direct = vi.mocked(nodeCrypto.randomBytes);
    fills.mockClear();
    direct.mockClear();
    const ids = Array.from({ length: 2560 }, () => randomId());
    expect(new Set(ids).size).toBe(ids.length);
    expect(direct).not.toHaveBeenCalled();
    expect(fills.mock.calls.length).toBeGreaterThanOrEqual(9);
    expect(fills.mock.calls.length).toBeLessThanOrEqual(10);
  });

  it('hands out each pooled byte once: 128-bit base64url ids, all distinct across refills, other sizes too', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => randomId(i % 7 === 0 ? 24 : 16));
    for (const [i, id] of ids.entries()) expect(id).toMatch(i % 7 === 0 ? /^[A-Za-z0-9_-]{32}$/ : /^[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(randomId(1024)).toMatch(/^[A-Za-z0-9_-]{1366}$/);
  });

  it('never serves a secret from the pool: randomSecret draws fresh bytes every time', () => {
    const direct = vi.mocked(nodeCrypto.randomBytes);
    direct.mockClear();
    expect(randomSecret()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomSecret()).not.toBe(randomSecret());
    expect(direct).toHaveBeenCalledTimes(3);
  });
});
