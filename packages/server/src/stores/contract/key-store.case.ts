import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stores } from '../types.js';
import { makeKey, T0, type MakeStores, type StoreContractOptions } from './fixtures.test-helpers.js';

/** The KeyStore contract, run by every backend's test file. */
export function runKeyStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`KeyStore contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    it('inserts keys and lists them unchanged, by activation time', async () => {
      expect(await stores.keys.list()).toEqual([]);
      const later = makeKey({ activatesAt: T0 + 1000 });
      const first = makeKey({ activatesAt: T0, retiresAt: T0 + 1000, expiresAt: T0 + 5000 });
      await stores.keys.insert(later);
      await stores.keys.insert(first);
      expect(await stores.keys.list()).toEqual([first, later]);
    });

    it('refuses a second key with the same kid', async () => {
      const k = makeKey();
      await stores.keys.insert(k);
      await expect(stores.keys.insert(makeKey({ kid: k.kid }))).rejects.toThrow();
      expect(await stores.keys.list()).toEqual([k]);
    });

    it('insertIfNoSigner inserts only while no key can sign at `now`', async () => {
      const pending = makeKey({ activatesAt: T0 + 100 });
      await stores.keys.insert(pending);
      const retired = makeKey({ activatesAt: T0 - 100, retiresAt: T0, expiresAt: T0 + 100 });
      await stores.keys.insert(retired);
      const first = makeKey();
      expect(await stores.keys.insertIfNoSigner(first, T0)).toBe(true);
      expect(await stores.keys.insertIfNoSigner(makeKey(), T0)).toBe(false);
      expect((await stores.keys.list()).map((k) => k.kid).sort()).toEqual([pending.kid, retired.kid, first.kid].sort());
    });

    it('insertIfNoSigner: of many concurrent calls on an empty store exactly one inserts', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => stores.keys.insertIfNoSigner(makeKey(), T0)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await stores.keys.list()).toHaveLength(1);
    });

    it('retire sets retiresAt and expiresAt of that key only', async () => {
      const a = makeKey();
      const b = makeKey({ activatesAt: T0 + 1 });
      await stores.keys.insert(a);
      await stores.keys.insert(b);
      await stores.keys.retire(a.kid, T0 + 100, T0 + 200);
      expect(await stores.keys.list()).toEqual([{ ...a, retiresAt: T0 + 100, expiresAt: T0 + 200 }, b]);
    });

    it('deleteExpired removes keys whose expiresAt is <= now, keeps unscheduled ones, and counts', async () => {
      const gone = makeKey({ retiresAt: T0 + 10, expiresAt: T0 + 50 });
      const edge = makeKey({ retiresAt: T0 + 10, expiresAt: T0 + 100 });
      const later = makeKey({ retiresAt: T0 + 10, expiresAt: T0 + 101 });
      const current = makeKey({ activatesAt: T0 + 10 });
      for (const k of [gone, edge, later, current]) await stores.keys.insert(k);
      expect(await stores.keys.deleteExpired(T0 + 100)).toBe(2);
      expect((await stores.keys.list()).map((k) => k.kid).sort()).toEqual([later.kid, current.kid].sort());
    });

    it.skipIf(!options.reopen)('keeps keys across a restart', async () => {
      const k = makeKey();
      await stores.keys.insert(k);
      stores = await options.reopen!(stores);
      expect(await stores.keys.list()).toEqual([k]);
    });
  });
}
