import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityTakenError, NO_PASSWORD, UsernameTakenError, type IdentityRecord, type Stores, type UserRecord } from '../types.js';
import { makeUser, type MakeStores, type StoreContractOptions, storesWithTwoUsers, T0 } from './fixtures.test-helpers.js';

let n = 0;
function makeIdentity(userId: string, over: Partial<IdentityRecord> = {}): IdentityRecord {
  return { provider: 'google', subject: `sub-${++n}`, userId, email: null, emailVerified: false, createdAt: T0, lastUsedAt: T0, ...over };
}

/** The IdentityStore contract (federation, issue 15), run by every backend's test file. */
export function runIdentityStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`IdentityStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    it('links an identity and finds it by (provider, subject), unchanged; another provider with the same subject is another identity', async () => {
      const id = makeIdentity(alice.id, { subject: '123', email: 'Alice@Example.COM', emailVerified: true });
      expect(await stores.identities.link(id)).toBe('linked');
      expect(await stores.identities.findBySubject('google', '123')).toEqual(id);
      expect(await stores.identities.findBySubject('github', '123')).toBeNull();
      const gh = makeIdentity(bob.id, { provider: 'github', subject: '123' });
      expect(await stores.identities.link(gh)).toBe('linked');
      expect(await stores.identities.findBySubject('github', '123')).toEqual(gh);
      expect(await stores.identities.findBySubject('google', '123')).toEqual(id);
    });

    it('linking twice to the same user is idempotent (nothing written); to another user it throws IdentityTakenError and keeps the first', async () => {
      const id = makeIdentity(alice.id);
      await stores.identities.link(id);
      expect(await stores.identities.link({ ...id, createdAt: T0 + 5, lastUsedAt: T0 + 5 })).toBe('already');
      expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual(id);
      const err = await stores.identities.link({ ...id, userId: bob.id }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdentityTakenError);
      expect((err as IdentityTakenError).userId).toBe(alice.id);
      expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual(id);
      expect(await stores.identities.listForUser(bob.id)).toEqual([]);
    });

    it('of N parallel links of one identity to different users exactly one wins', async () => {
      const users = [alice, bob, makeUser(), makeUser()];
      for (const u of users.slice(2)) await stores.users.create(u);
      const id = makeIdentity(alice.id);
      const results = await Promise.allSettled(users.map((u) => stores.identities.link({ ...id, userId: u.id })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdentityTakenError);
      const owner = (await stores.identities.findBySubject(id.provider, id.subject))!.userId;
      expect(users.map((u) => u.id)).toContain(owner);
    });

    it('lists only the user\'s identities, oldest first', async () => {
      const a2 = makeIdentity(alice.id, { provider: 'github', createdAt: T0 + 2, lastUsedAt: T0 + 2 });
      const a1 = makeIdentity(alice.id, { createdAt: T0 + 1, lastUsedAt: T0 + 1 });
      const b1 = makeIdentity(bob.id);
      for (const i of [a2, a1, b1]) await stores.identities.link(i);
      expect(await stores.identities.listForUser(alice.id)).toEqual([a1, a2]);
      expect(await stores.identities.listForUser(bob.id)).toEqual([b1]);
      expect(await stores.identities.listForUser('nobody')).toEqual([]);
    });

    it('listByVerifiedEmail matches trimmed, lower-cased emails the provider verified, never unverified ones', async () => {
      const v = makeIdentity(alice.id, { email: 'Alice@Example.com', emailVerified: true });
      const u = makeIdentity(bob.id, { provider: 'github', email: 'alice@example.com', emailVerified: false });
      const other = makeIdentity(bob.id, { email: 'bob@example.com', emailVerified: true });
      for (const i of [v, u, other]) await stores.identities.link(i);
      expect(await stores.identities.listByVerifiedEmail(' ALICE@example.COM ')).toEqual([v]);
      expect(await stores.identities.listByVerifiedEmail('carol@example.com')).toEqual([]);
    });

    it('createUserWithIdentity writes both, or neither when the identity is taken or the name is', async () => {
      const carol = makeUser({ passwordHash: NO_PASSWORD });
      const id = makeIdentity(carol.id);
      await stores.identities.createUserWithIdentity(carol, id);
      expect(await stores.users.findById(carol.id)).toEqual(carol);
      expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual(id);

      const dave = makeUser();
      await expect(stores.identities.createUserWithIdentity(dave, { ...id, userId: dave.id })).rejects.toBeInstanceOf(IdentityTakenError);
      expect(await stores.users.findById(dave.id)).toBeNull();

      const twin = makeUser({ username: carol.username, usernameCanonical: carol.usernameCanonical });
      const fresh = makeIdentity(twin.id);
      await expect(stores.identities.createUserWithIdentity(twin, fresh)).rejects.toBeInstanceOf(UsernameTakenError);
      expect(await stores.identities.findBySubject(fresh.provider, fresh.subject)).toBeNull();
    });

    it('of N parallel first sign-ins of one identity exactly one user is created', async () => {
      const id = makeIdentity('');
      const users = Array.from({ length: 6 }, () => makeUser({ passwordHash: NO_PASSWORD }));
      const results = await Promise.allSettled(users.map((u) => stores.identities.createUserWithIdentity(u, { ...id, userId: u.id })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdentityTakenError);
      const created = (await stores.users.list()).filter((u) => users.some((x) => x.id === u.id));
      expect(created).toHaveLength(1);
      expect((await stores.identities.findBySubject(id.provider, id.subject))!.userId).toBe(created[0]!.id);
    });

    it('unlinks only the user\'s own identity; keepOne refuses the last one and removes nothing', async () => {
      const a1 = makeIdentity(alice.id);
      const a2 = makeIdentity(alice.id, { provider: 'github' });
      for (const i of [a1, a2]) await stores.identities.link(i);
      expect(await stores.identities.unlink(bob.id, a1.provider, a1.subject, { keepOne: false })).toBe('not_found');
      expect(await stores.identities.findBySubject(a1.provider, a1.subject)).toEqual(a1);
      expect(await stores.identities.unlink(alice.id, a1.provider, a1.subject, { keepOne: true })).toBe('unlinked');
      expect(await stores.identities.unlink(alice.id, a1.provider, a1.subject, { keepOne: true })).toBe('not_found');
      expect(await stores.identities.unlink(alice.id, a2.provider, a2.subject, { keepOne: true })).toBe('last');
      expect(await stores.identities.listForUser(alice.id)).toEqual([a2]);
      expect(await stores.identities.unlink(alice.id, a2.provider, a2.subject, { keepOne: false })).toBe('unlinked');
      expect(await stores.identities.listForUser(alice.id)).toEqual([]);
    });

    it('parallel keepOne unlinks of a user\'s two identities leave one', async () => {
      const a1 = makeIdentity(alice.id);
      const a2 = makeIdentity(alice.id, { provider: 'github' });
      for (const i of [a1, a2]) await stores.identities.link(i);
      const r = await Promise.all([a1, a2].map((i) => stores.identities.unlink(alice.id, i.provider, i.subject, { keepOne: true })));
      expect(r.sort()).toEqual(['last', 'unlinked']);
      expect(await stores.identities.listForUser(alice.id)).toHaveLength(1);
    });

    it('touch records a sign-in (never backwards) and the email given this time', async () => {
      const id = makeIdentity(alice.id, { email: 'old@example.com', emailVerified: true });
      await stores.identities.link(id);
      await stores.identities.touch(id.provider, id.subject, T0 + 100, { email: 'New@example.com', emailVerified: false });
      expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual({ ...id, lastUsedAt: T0 + 100, email: 'New@example.com', emailVerified: false });
      await stores.identities.touch(id.provider, id.subject, T0 + 50, { email: null, emailVerified: false });
      expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual({ ...id, lastUsedAt: T0 + 100, email: null, emailVerified: false });
      expect(await stores.identities.listByVerifiedEmail('old@example.com')).toEqual([]);
      await stores.identities.touch('google', 'unknown', T0, { email: null, emailVerified: false }); // no-op, no error
    });

    if (options.reopen) {
      const reopen = options.reopen;
      it('keeps identities across a restart', async () => {
        const id = makeIdentity(alice.id, { email: 'a@example.com', emailVerified: true });
        await stores.identities.link(id);
        stores = await reopen(stores);
        expect(await stores.identities.findBySubject(id.provider, id.subject)).toEqual(id);
      });
    }
  });
}
