import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PasskeyTakenError, type Stores, type UserRecord, type WebAuthnChallengeRecord, type WebAuthnCredentialRecord } from '../types.js';
import { type MakeStores, storesWithTwoUsers, T0 } from './fixtures.test-helpers.js';

let n = 0;
function makeCredential(userId: string, over: Partial<WebAuthnCredentialRecord> = {}): WebAuthnCredentialRecord {
  n += 1;
  return {
    id: `cred-${n}-${Math.random().toString(36).slice(2)}`,
    userId,
    publicKey: 'pQECAyYgASFYIGk',
    counter: 0,
    transports: ['internal', 'hybrid'],
    deviceType: 'multiDevice',
    backedUp: true,
    name: `Passkey ${n}`,
    createdAt: T0 + n,
    lastUsedAt: null,
    ...over,
  };
}

function makeChallenge(over: Partial<WebAuthnChallengeRecord> = {}): WebAuthnChallengeRecord {
  n += 1;
  return { challengeHash: `ch-${n}-${Math.random().toString(36).slice(2)}`, kind: 'authentication', userId: null, createdAt: T0, expiresAt: T0 + 300_000, ...over };
}

/** The WebAuthnStore contract (passkeys, issue 17), run by every backend's test file. */
export function runWebAuthnStoreContract(name: string, makeStores: MakeStores): void {
  describe(`WebAuthnStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    it('stores a credential unchanged, lists only the user\'s, oldest first; a second registration of one id is refused', async () => {
      const a2 = makeCredential(alice.id, { createdAt: T0 + 20, transports: [], deviceType: 'singleDevice', backedUp: false, counter: 7 });
      const a1 = makeCredential(alice.id, { createdAt: T0 + 10 });
      const b1 = makeCredential(bob.id);
      for (const c of [a2, a1, b1]) await stores.webauthn.createCredential(c);
      expect(await stores.webauthn.findCredential(a2.id)).toEqual(a2);
      expect(await stores.webauthn.listCredentials(alice.id)).toEqual([a1, a2]);
      expect(await stores.webauthn.listCredentials(bob.id)).toEqual([b1]);
      await expect(stores.webauthn.createCredential({ ...a1, userId: bob.id })).rejects.toBeInstanceOf(PasskeyTakenError);
      expect(await stores.webauthn.findCredential(a1.id)).toEqual(a1);
      expect(await stores.webauthn.findCredential('nope')).toBeNull();
    });

    it('renames and deletes only the owner\'s credential', async () => {
      const c = makeCredential(alice.id);
      await stores.webauthn.createCredential(c);
      expect(await stores.webauthn.renameCredential(bob.id, c.id, 'stolen')).toBe(false);
      expect(await stores.webauthn.deleteCredential(bob.id, c.id)).toBe(false);
      expect(await stores.webauthn.renameCredential(alice.id, c.id, 'Laptop')).toBe(true);
      expect((await stores.webauthn.findCredential(c.id))?.name).toBe('Laptop');
      expect(await stores.webauthn.deleteCredential(alice.id, c.id)).toBe(true);
      expect(await stores.webauthn.deleteCredential(alice.id, c.id)).toBe(false);
      expect(await stores.webauthn.findCredential(c.id)).toBeNull();
    });

    it('recordUse moves the counter only from the value it was read at (compare-and-swap), and sets backup state and last use', async () => {
      const c = makeCredential(alice.id, { counter: 5, backedUp: false });
      await stores.webauthn.createCredential(c);
      expect(await stores.webauthn.recordUse(c.id, { fromCounter: 5, counter: 6, backedUp: true, at: T0 + 1000 })).toBe(true);
      // A second instance that read 5 too loses.
      expect(await stores.webauthn.recordUse(c.id, { fromCounter: 5, counter: 6, backedUp: true, at: T0 + 1001 })).toBe(false);
      expect(await stores.webauthn.findCredential(c.id)).toEqual({ ...c, counter: 6, backedUp: true, lastUsedAt: T0 + 1000 });
      const parallel = await Promise.all([7, 8, 9].map((k) => stores.webauthn.recordUse(c.id, { fromCounter: 6, counter: k, backedUp: true, at: T0 + 2000 })));
      expect(parallel.filter(Boolean)).toHaveLength(1);
    });

    it('a challenge is taken once, only with its kind, only before it expires; of parallel takes exactly one wins', async () => {
      const reg = makeChallenge({ kind: 'registration', userId: alice.id });
      await stores.webauthn.createChallenge(reg);
      expect(await stores.webauthn.consumeChallenge(reg.challengeHash, 'authentication', T0 + 1)).toBeNull();
      expect(await stores.webauthn.consumeChallenge(reg.challengeHash, 'registration', T0 + 1)).toEqual(reg);
      expect(await stores.webauthn.consumeChallenge(reg.challengeHash, 'registration', T0 + 2)).toBeNull();

      const late = makeChallenge();
      await stores.webauthn.createChallenge(late);
      expect(await stores.webauthn.consumeChallenge(late.challengeHash, 'authentication', late.expiresAt)).toBeNull();
      expect(await stores.webauthn.consumeChallenge('unknown', 'authentication', T0)).toBeNull();

      const raced = makeChallenge();
      await stores.webauthn.createChallenge(raced);
      const results = await Promise.all(Array.from({ length: 5 }, () => stores.webauthn.consumeChallenge(raced.challengeHash, 'authentication', T0 + 5)));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    it('deleteExpiredChallenges removes only expired ones', async () => {
      const old = makeChallenge({ expiresAt: T0 + 10 });
      const fresh = makeChallenge({ expiresAt: T0 + 10_000, kind: 'registration', userId: alice.id });
      await stores.webauthn.createChallenge(old);
      await stores.webauthn.createChallenge(fresh);
      expect(await stores.webauthn.deleteExpiredChallenges(T0 + 100)).toBe(1);
      expect(await stores.webauthn.consumeChallenge(old.challengeHash, 'authentication', T0)).toBeNull();
      expect(await stores.webauthn.consumeChallenge(fresh.challengeHash, 'registration', T0 + 200)).toEqual(fresh);
    });
  });
}
