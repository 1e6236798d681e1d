import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { Stores, UserRecord } from '../types.js';
import { DAY, makeApiToken, type MakeStores, type StoreContractOptions, storesWithTwoUsers, T0 } from './fixtures.test-helpers.js';

/** The ApiTokenStore contract, run by every backend's test file. */
export function runApiTokenStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`ApiTokenStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    it('creates a token and finds it by hash, unchanged (scopes, expiry, last use)', async () => {
      const t = makeApiToken(alice.id, { scopes: ['notes:read', 'notes:write'], expiresAt: T0 + DAY, lastUsedAt: T0 + 1 });
      await stores.apiTokens.create(t);
      expect(await stores.apiTokens.findByHash(t.tokenHash)).toEqual(t);
      expect(await stores.apiTokens.findByHash('unknown')).toBeNull();
      const bare = makeApiToken(alice.id, { scopes: [] });
      await stores.apiTokens.create(bare);
      expect(await stores.apiTokens.findByHash(bare.tokenHash)).toEqual(bare);
    });

    it('getWithUser returns the token (expired ones too) and its current owner in one read, never the password hash', async () => {
      const t = makeApiToken(alice.id, { scopes: ['notes:read', 'notes:write'], expiresAt: T0 + DAY, lastUsedAt: T0 + 1 });
      const expired = makeApiToken(bob.id, { expiresAt: T0 - 1 });
      for (const x of [t, expired]) await stores.apiTokens.create(x);
      await stores.users.setRoles(alice.id, ['admin'], T0 + 5);
      const { passwordHash: _, passwordChangeRequired: _p, ...summary } = alice;
      const got = await stores.apiTokens.getWithUser(t.tokenHash);
      expect(got).toEqual({ token: t, user: { ...summary, roles: ['admin'], updatedAt: T0 + 5 } });
      expect(Object.keys(got!.user)).not.toContain('passwordHash');
      const { passwordHash: __, passwordChangeRequired: __p, ...bobSummary } = bob;
      expect(await stores.apiTokens.getWithUser(expired.tokenHash)).toEqual({ token: expired, user: bobSummary });
      expect(await stores.apiTokens.getWithUser('unknown')).toBeNull();
      await stores.apiTokens.delete(t.id, alice.id);
      expect(await stores.apiTokens.getWithUser(t.tokenHash)).toBeNull();
    });

    it('lists only the user\'s tokens, newest first', async () => {
      const a1 = makeApiToken(alice.id, { createdAt: T0 + 1 });
      const a2 = makeApiToken(alice.id, { createdAt: T0 + 2 });
      const b1 = makeApiToken(bob.id);
      for (const t of [a1, a2, b1]) await stores.apiTokens.create(t);
      expect(await stores.apiTokens.listByUser(alice.id)).toEqual([a2, a1]);
      expect(await stores.apiTokens.listByUser(bob.id)).toEqual([b1]);
      expect(await stores.apiTokens.listByUser('nobody')).toEqual([]);
    });

    it('refuses a second token with the same hash', async () => {
      const t = makeApiToken(alice.id);
      await stores.apiTokens.create(t);
      await expect(stores.apiTokens.create(makeApiToken(bob.id, { tokenHash: t.tokenHash }))).rejects.toThrow();
    });

    it('deletes only the owner\'s token and says whether it did', async () => {
      const t = makeApiToken(alice.id);
      await stores.apiTokens.create(t);
      expect(await stores.apiTokens.delete(t.id, bob.id)).toBe(false);
      expect(await stores.apiTokens.findByHash(t.tokenHash)).toEqual(t);
      expect(await stores.apiTokens.delete(t.id, alice.id)).toBe(true);
      expect(await stores.apiTokens.delete(t.id, alice.id)).toBe(false);
      expect(await stores.apiTokens.findByHash(t.tokenHash)).toBeNull();
    });

    it('touchLastUsed records a use and never moves it backwards', async () => {
      const t = makeApiToken(alice.id);
      await stores.apiTokens.create(t);
      await stores.apiTokens.touchLastUsed(t.id, T0 + 100);
      expect((await stores.apiTokens.findByHash(t.tokenHash))?.lastUsedAt).toBe(T0 + 100);
      await stores.apiTokens.touchLastUsed(t.id, T0 + 50);
      expect((await stores.apiTokens.findByHash(t.tokenHash))?.lastUsedAt).toBe(T0 + 100);
      await stores.apiTokens.touchLastUsed('unknown', T0); // no-op, no error
    });

    it.skipIf(!options.reopen)('keeps API tokens across a restart', async () => {
      const t = makeApiToken(alice.id);
      await stores.apiTokens.create(t);
      stores = await options.reopen!(stores);
      expect(await stores.apiTokens.findByHash(t.tokenHash)).toEqual(t);
    });

    it.skipIf(!options.rawBytes)('stores only the hash of the API token', async () => {
      const secret = 'gh_s3cretApiTokenValue';
      await stores.apiTokens.create(makeApiToken(alice.id, { tokenHash: hashSecret(secret) }));
      const raw = await options.rawBytes!(stores);
      expect(raw.includes(Buffer.from(hashSecret(secret)))).toBe(true);
      expect(raw.includes(Buffer.from('s3cret'))).toBe(false);
    });
  });
}
