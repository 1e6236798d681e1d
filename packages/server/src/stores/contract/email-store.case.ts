import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { EmailTokenRecord, Stores, UserRecord } from '../types.js';
import { makeUser, type MakeStores, T0 } from './fixtures.test-helpers.js';

const MIN = 60_000;

/** The EmailStore contract (issue 18: one address per user, single-use email tokens), run by every backend's test file. */
export function runEmailStoreContract(name: string, makeStores: MakeStores): void {
  describe(`EmailStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      stores = await makeStores();
      alice = makeUser();
      bob = makeUser();
      await stores.users.create(alice);
      await stores.users.create(bob);
    });
    afterEach(async () => {
      await stores.close();
    });

    const token = (over: Partial<EmailTokenRecord> = {}): EmailTokenRecord => ({
      tokenHash: hashSecret(`token-${Math.random()}`),
      userId: alice.id,
      purpose: 'reset',
      address: null,
      createdAt: T0,
      expiresAt: T0 + 30 * MIN,
      usedAt: null,
      ...over,
    });

    it('one address per user: a new one replaces the old (unverified); verifying needs the same address, once', async () => {
      expect(await stores.emails.get(alice.id)).toBeNull();
      await stores.emails.set(alice.id, '  Alice@Example.com ', T0);
      expect(await stores.emails.get(alice.id)).toEqual({ userId: alice.id, address: 'Alice@Example.com', createdAt: T0, verifiedAt: null });
      expect(await stores.emails.markVerified(alice.id, 'other@example.com', T0 + 1)).toBe(false);
      expect(await stores.emails.markVerified(alice.id, 'alice@EXAMPLE.com', T0 + 2)).toBe(true);
      expect(await stores.emails.markVerified(alice.id, 'alice@example.com', T0 + 3)).toBe(false);
      expect((await stores.emails.get(alice.id))?.verifiedAt).toBe(T0 + 2);
      await stores.emails.set(alice.id, 'new@example.com', T0 + 4);
      expect(await stores.emails.get(alice.id)).toEqual({ userId: alice.id, address: 'new@example.com', createdAt: T0 + 4, verifiedAt: null });
      expect(await stores.emails.markVerified(alice.id, 'alice@example.com', T0 + 5)).toBe(false);
      expect(await stores.emails.remove(alice.id)).toBe(true);
      expect(await stores.emails.remove(alice.id)).toBe(false);
      expect(await stores.emails.get(alice.id)).toBeNull();
    });

    it('lookup by address finds verified addresses only, case-insensitively', async () => {
      await stores.emails.set(alice.id, 'Shared@Example.com', T0);
      await stores.emails.set(bob.id, 'shared@example.com', T0);
      expect(await stores.emails.usersWithVerifiedAddress('shared@example.com', 10)).toEqual([]);
      await stores.emails.markVerified(bob.id, 'shared@example.com', T0 + 1);
      expect(await stores.emails.usersWithVerifiedAddress(' SHARED@example.com', 10)).toEqual([bob.id]);
      await stores.emails.markVerified(alice.id, 'shared@example.com', T0 + 2);
      expect(await stores.emails.usersWithVerifiedAddress('shared@example.com', 10)).toEqual([bob.id, alice.id]);
      expect(await stores.emails.usersWithVerifiedAddress('shared@example.com', 1)).toEqual([bob.id]);
    });

    it('a token is taken once, only before it expires and for its purpose', async () => {
      const t = token();
      await stores.emails.createToken(t);
      expect(await stores.emails.useToken(t.tokenHash, 'verify', T0 + 1)).toBeNull();
      expect(await stores.emails.useToken(t.tokenHash, 'reset', T0 + 30 * MIN)).toBeNull();
      expect(await stores.emails.findToken(t.tokenHash)).toEqual(t);
      expect(await stores.emails.useToken(t.tokenHash, 'reset', T0 + 1)).toEqual({ ...t, usedAt: T0 + 1 });
      expect(await stores.emails.findToken(t.tokenHash)).toEqual({ ...t, usedAt: T0 + 1 });
      expect(await stores.emails.findToken('unknown')).toBeNull();
      expect(await stores.emails.useToken(t.tokenHash, 'reset', T0 + 2)).toBeNull();
    });

    it('of parallel uses of one token exactly one wins', async () => {
      const t = token({ purpose: 'verify', address: 'a@example.com' });
      await stores.emails.createToken(t);
      const results = await Promise.all(Array.from({ length: 8 }, () => stores.emails.useToken(t.tokenHash, 'verify', T0 + 1)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('a new token voids the older ones of the same user and purpose only', async () => {
      const older = token();
      const verify = token({ purpose: 'verify', address: 'a@example.com' });
      const bobs = token({ userId: bob.id });
      await stores.emails.createToken(older);
      await stores.emails.createToken(verify);
      await stores.emails.createToken(bobs);
      const newer = token();
      await stores.emails.createToken(newer);
      expect(await stores.emails.useToken(older.tokenHash, 'reset', T0 + 1)).toBeNull();
      expect(await stores.emails.useToken(newer.tokenHash, 'reset', T0 + 1)).not.toBeNull();
      expect(await stores.emails.useToken(verify.tokenHash, 'verify', T0 + 1)).not.toBeNull();
      expect(await stores.emails.useToken(bobs.tokenHash, 'reset', T0 + 1)).not.toBeNull();
    });

    it('tokens are deleted per user and purpose, when expired, and with their user', async () => {
      await stores.emails.createToken(token({ expiresAt: T0 + MIN }));
      await stores.emails.createToken(token({ purpose: 'verify', address: 'a@example.com', expiresAt: T0 + 10 * MIN }));
      await stores.emails.createToken(token({ userId: bob.id, expiresAt: T0 + 10 * MIN }));
      expect(await stores.emails.deleteExpiredTokens(T0 + 2 * MIN)).toBe(1);
      expect(await stores.emails.deleteTokens(alice.id, 'reset')).toBe(0);
      expect(await stores.emails.deleteTokens(alice.id)).toBe(1);
      await stores.emails.set(bob.id, 'bob@example.com', T0);
      expect(await stores.emails.get(bob.id)).not.toBeNull();
    });
  });
}
