import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import { ClientIdTakenError, FIRST_PARTY_CLIENT_ID, ClientIdRefusedError, type ClientRecord, type Stores } from '../types.js';
import { DAY, makeClient, type MakeStores, type StoreContractOptions, T0 } from './fixtures.test-helpers.js';

const HOUR = 60 * 60 * 1000;

/** The ClientStore contract (the OAuth client registry), run by every backend's test file. */
export function runClientStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`ClientStore contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    it('creates clients and reads them back unchanged, one by id and all by id', async () => {
      const tv = makeClient({ clientId: 'tv-app', type: 'public', grants: ['device_code', 'refresh_token'], service: null, secrets: [] });
      const svc = makeClient({ clientId: 'billing', audiences: ['notes', 'orders'], lastUsedAt: T0 + 5 });
      await stores.clients.create(tv);
      await stores.clients.create(svc);
      expect(await stores.clients.get('tv-app')).toEqual(tv);
      expect(await stores.clients.get('billing')).toEqual(svc);
      expect(await stores.clients.get('nobody')).toBeNull();
      expect(await stores.clients.list()).toEqual([svc, tv]);
    });

    it('refuses a second client with the same id', async () => {
      await stores.clients.create(makeClient({ clientId: 'billing' }));
      await expect(stores.clients.create(makeClient({ clientId: 'billing', name: 'Other' }))).rejects.toBeInstanceOf(ClientIdTakenError);
      expect((await stores.clients.get('billing'))?.name).toBe('Billing service');
    });

    it('refuses the first-party client id and ids that are not safe identifiers, and never removes the first-party client', async () => {
      for (const clientId of [FIRST_PARTY_CLIENT_ID, '', 'Billing', 'a b', 'a:b', '-x', 'x-', 'x'.repeat(65), 'é', 'a/b']) {
        await expect(stores.clients.create(makeClient({ clientId })), clientId).rejects.toBeInstanceOf(ClientIdRefusedError);
      }
      await expect(stores.clients.remove(FIRST_PARTY_CLIENT_ID)).rejects.toBeInstanceOf(ClientIdRefusedError);
      expect(await stores.clients.list()).toEqual([]);
      await stores.clients.create(makeClient({ clientId: 'a' }));
      await stores.clients.create(makeClient({ clientId: `a.b_c-${'9'.repeat(58)}` }));
      expect(await stores.clients.list()).toHaveLength(2);
    });

    it('updates name, grants, scopes and audiences, and sets updatedAt; unknown ids answer null', async () => {
      const c = makeClient({ clientId: 'billing' });
      await stores.clients.create(c);
      const updated = await stores.clients.update('billing', { name: 'Billing v2', scopes: ['notes:read'], audiences: [] }, T0 + 10);
      const expected: ClientRecord = { ...c, name: 'Billing v2', scopes: ['notes:read'], audiences: [], updatedAt: T0 + 10 };
      expect(updated).toEqual(expected);
      expect(await stores.clients.get('billing')).toEqual(expected);
      expect(await stores.clients.update('billing', { grants: ['client_credentials'] }, T0 + 20)).toEqual({ ...expected, grants: ['client_credentials'], updatedAt: T0 + 20 });
      expect(await stores.clients.update('nobody', { name: 'x' }, T0)).toBeNull();
    });

    it('updates the service (the audience of the passports the client receives), leaving everything else as it was', async () => {
      const c = makeClient({ clientId: 'billing', service: 'billing' });
      await stores.clients.create(c);
      const expected: ClientRecord = { ...c, service: 'payments', updatedAt: T0 + 30 };
      expect(await stores.clients.update('billing', { service: 'payments' }, T0 + 30)).toEqual(expected);
      expect(await stores.clients.get('billing')).toEqual(expected);
    });

    it('rotateSecret keeps the current secret until the overlap ends, drops an older one, and never holds more than two', async () => {
      const first = { hash: hashSecret('first'), createdAt: T0, notAfter: null };
      await stores.clients.create(makeClient({ clientId: 'billing', secrets: [first] }));
      const second = { hash: hashSecret('second'), createdAt: T0 + HOUR, notAfter: null };
      const r1 = await stores.clients.rotateSecret('billing', second, T0 + 25 * HOUR, T0 + HOUR);
      expect(r1?.secrets).toEqual([{ ...first, notAfter: T0 + 25 * HOUR }, second]);
      expect(r1?.updatedAt).toBe(T0 + HOUR);
      expect(await stores.clients.get('billing')).toEqual(r1);

      // A rotation during the overlap: the first secret goes now, the second gets the overlap.
      const third = { hash: hashSecret('third'), createdAt: T0 + 2 * HOUR, notAfter: null };
      const r2 = await stores.clients.rotateSecret('billing', third, T0 + 3 * HOUR, T0 + 2 * HOUR);
      expect(r2?.secrets).toEqual([{ ...second, notAfter: T0 + 3 * HOUR }, third]);

      // A shorter overlap never lengthens the life an earlier rotation gave a secret; a secret
      // past its end is dropped; an overlap of 0 drops the current one at once.
      const fourth = { hash: hashSecret('fourth'), createdAt: T0 + 4 * HOUR, notAfter: null };
      const r3 = await stores.clients.rotateSecret('billing', fourth, T0 + 4 * HOUR, T0 + 4 * HOUR);
      expect(r3?.secrets).toEqual([fourth]);
      expect(await stores.clients.get('billing')).toEqual(r3);
      expect(await stores.clients.rotateSecret('nobody', fourth, T0, T0)).toBeNull();
    });

    it('rotateSecret keeps the earlier end of the previous secret when a longer overlap is asked', async () => {
      const a = { hash: hashSecret('a'), createdAt: T0, notAfter: T0 + HOUR };
      const b = { hash: hashSecret('b'), createdAt: T0, notAfter: null };
      await stores.clients.create(makeClient({ clientId: 'billing', secrets: [b, a] }));
      // The newest live secret is the current one (the last listed): `a`, which ends in an hour.
      const c = { hash: hashSecret('c'), createdAt: T0 + 1, notAfter: null };
      expect((await stores.clients.rotateSecret('billing', c, T0 + DAY, T0 + 1))?.secrets).toEqual([a, c]);
      // A secret past its end is never the current one: the newest live one is.
      const ended = { hash: hashSecret('ended'), createdAt: T0, notAfter: T0 + 2 };
      await stores.clients.create(makeClient({ clientId: 'other', secrets: [b, ended] }));
      expect((await stores.clients.rotateSecret('other', c, T0 + DAY, T0 + 3))?.secrets).toEqual([{ ...b, notAfter: T0 + DAY }, c]);
    });

    it('touchLastUsed records a use and never moves it backwards', async () => {
      await stores.clients.create(makeClient({ clientId: 'billing' }));
      await stores.clients.touchLastUsed('billing', T0 + 100);
      expect((await stores.clients.get('billing'))?.lastUsedAt).toBe(T0 + 100);
      await stores.clients.touchLastUsed('billing', T0 + 50);
      expect((await stores.clients.get('billing'))?.lastUsedAt).toBe(T0 + 100);
      await stores.clients.touchLastUsed('nobody', T0); // no-op, no error
    });

    it('removes a client and says whether it did', async () => {
      await stores.clients.create(makeClient({ clientId: 'billing' }));
      await stores.clients.create(makeClient({ clientId: 'other' }));
      expect(await stores.clients.remove('billing')).toBe(true);
      expect(await stores.clients.remove('billing')).toBe(false);
      expect(await stores.clients.get('billing')).toBeNull();
      expect((await stores.clients.list()).map((c) => c.clientId)).toEqual(['other']);
    });

    it.skipIf(!options.reopen)('keeps clients across a restart', async () => {
      const c = makeClient({ clientId: 'billing' });
      await stores.clients.create(c);
      stores = await options.reopen!(stores);
      expect(await stores.clients.get('billing')).toEqual(c);
    });

    it.skipIf(!options.rawBytes)('stores only the hash of a client secret', async () => {
      const secret = 'ghc_s3cretClientSecretValue';
      await stores.clients.create(makeClient({ clientId: 'billing', secrets: [{ hash: hashSecret(secret), createdAt: T0, notAfter: null }] }));
      const raw = await options.rawBytes!(stores);
      expect(raw.includes(Buffer.from(hashSecret(secret)))).toBe(true);
      expect(raw.includes(Buffer.from('s3cret'))).toBe(false);
    });
  });
}
