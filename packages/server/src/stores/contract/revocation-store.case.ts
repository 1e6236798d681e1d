import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RevocationEvent, Stores } from '../types.js';
import { T0, type MakeStores, type StoreContractOptions } from './fixtures.test-helpers.js';

/** The RevocationStore contract, run by every backend's test file. */
export function runRevocationStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`RevocationStore contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    const session = (sid: string, at: number): RevocationEvent => ({ type: 'session', sid, at });
    const user = (userId: string, at: number): RevocationEvent => ({ type: 'user', userId, notBefore: at, at });

    it('returns events after `since` (exclusive), oldest first, unchanged', async () => {
      expect(await stores.revocations.since(0)).toEqual([]);
      const e3 = session('s3', T0 + 30);
      const e1 = session('s1', T0 + 10);
      const e2 = user('u1', T0 + 20);
      const e2b = session('s2', T0 + 20);
      for (const e of [e3, e1, e2, e2b]) await stores.revocations.add(e, T0 + 1000);
      expect(await stores.revocations.since(0)).toEqual([e1, e2, e2b, e3]);
      expect(await stores.revocations.since(T0 + 10)).toEqual([e2, e2b, e3]);
      expect(await stores.revocations.since(T0 + 30)).toEqual([]);
    });

    it('stores a removed client\'s event (issue 14 §3) with every other kind, unchanged and in order', async () => {
      const client: RevocationEvent = { type: 'client', clientId: 'billing', at: T0 + 15 };
      const others: RevocationEvent[] = [
        session('s1', T0 + 10),
        { type: 'api_token', tokenId: 'k1', at: T0 + 20 },
        { type: 'access_token', jti: 'j1', exp: 99, at: T0 + 25 },
      ];
      for (const e of [client, ...others]) await stores.revocations.add(e, T0 + 1000);
      expect(await stores.revocations.since(0)).toEqual([others[0], client, others[1], others[2]]);
      // A gateway warming up after a restart still learns of the removal.
      expect(await stores.revocations.since(T0 + 14)).toContainEqual(client);
      expect(await stores.revocations.deleteExpired(T0 + 1000)).toBe(4);
    });

    it('keeps the same event added twice (the log is append-only)', async () => {
      const e = session('dup', T0 + 1);
      await stores.revocations.add(e, T0 + 1000);
      await stores.revocations.add(e, T0 + 1000);
      expect(await stores.revocations.since(T0)).toEqual([e, e]);
    });

    it('deleteExpired removes events whose keepUntil is <= now and counts them', async () => {
      await stores.revocations.add(session('a', T0 + 1), T0 + 100);
      await stores.revocations.add(session('b', T0 + 2), T0 + 200);
      await stores.revocations.add(user('c', T0 + 3), T0 + 201);
      expect(await stores.revocations.deleteExpired(T0 + 200)).toBe(2);
      expect(await stores.revocations.since(0)).toEqual([user('c', T0 + 3)]);
    });

    it.skipIf(!options.reopen)('keeps events across a restart', async () => {
      const e = user('u', T0 + 5);
      await stores.revocations.add(e, T0 + 1000);
      stores = await options.reopen!(stores);
      expect(await stores.revocations.since(T0)).toEqual([e]);
    });
  });
}
