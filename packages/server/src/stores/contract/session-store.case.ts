import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { Stores, UserRecord } from '../types.js';
import { DAY, makeSession, makeUser, type MakeStores, type StoreContractOptions, storesWithTwoUsers, T0 } from './fixtures.test-helpers.js';

/** The SessionStore contract, run by every backend's test file. */
export function runSessionStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`SessionStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id).sort();

    it('creates a session and finds it by token hash and by id, unchanged', async () => {
      const s = makeSession(alice.id, { persistent: false, deviceName: null });
      expect(await stores.sessions.createReplacingDevice(s)).toEqual({ replaced: [] });
      expect(await stores.sessions.findByTokenHash(s.tokenHash)).toEqual(s);
      expect(await stores.sessions.findById(s.id)).toEqual(s);
      expect(await stores.sessions.findByTokenHash('unknown')).toBeNull();
      expect(await stores.sessions.findById('unknown')).toBeNull();
    });

    it('getWithUser returns the session and its current user in one read, never the password hash', async () => {
      const s = makeSession(alice.id);
      const other = makeSession(bob.id);
      for (const x of [s, other]) await stores.sessions.createReplacingDevice(x);
      await stores.users.setRoles(alice.id, ['admin', 'staff'], T0 + 5);
      const { passwordHash: _, passwordChangeRequired: _p, ...summary } = alice;
      const got = await stores.sessions.getWithUser(s.tokenHash);
      expect(got).toEqual({ session: s, user: { ...summary, roles: ['admin', 'staff'], updatedAt: T0 + 5 } });
      expect(Object.keys(got!.user)).not.toContain('passwordHash');
      expect((await stores.sessions.getWithUser(other.tokenHash))?.user.id).toBe(bob.id);
      expect(await stores.sessions.getWithUser('unknown')).toBeNull();
      await stores.sessions.delete(s.id);
      expect(await stores.sessions.getWithUser(s.tokenHash)).toBeNull();
    });

    it('lists only the sessions of one user', async () => {
      const a1 = makeSession(alice.id);
      const a2 = makeSession(alice.id);
      const b1 = makeSession(bob.id);
      for (const s of [a1, a2, b1]) await stores.sessions.createReplacingDevice(s);
      expect(ids(await stores.sessions.listByUser(alice.id))).toEqual(ids([a1, a2]));
      expect(await stores.sessions.listByUser(bob.id)).toEqual([b1]);
      expect(await stores.sessions.listByUser('nobody')).toEqual([]);
    });

    it('replaces the same user\'s session on the same device, and only that one', async () => {
      const old = makeSession(alice.id, { deviceId: 'tv' });
      const otherDevice = makeSession(alice.id, { deviceId: 'phone' });
      const otherUser = makeSession(bob.id, { deviceId: 'tv' });
      for (const s of [old, otherDevice, otherUser]) await stores.sessions.createReplacingDevice(s);
      const fresh = makeSession(alice.id, { deviceId: 'tv' });
      expect(await stores.sessions.createReplacingDevice(fresh)).toEqual({ replaced: [old.id] });
      expect(await stores.sessions.findById(old.id)).toBeNull();
      expect(await stores.sessions.findByTokenHash(old.tokenHash)).toBeNull();
      expect(ids(await stores.sessions.listByUser(alice.id))).toEqual(ids([otherDevice, fresh]));
      expect(await stores.sessions.findById(otherUser.id)).toEqual(otherUser);
    });

    it('leaves exactly one session per device when sign-ins on that device race', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => stores.sessions.createReplacingDevice(makeSession(alice.id, { deviceId: 'laptop' }))));
      const left = await stores.sessions.listByUser(alice.id);
      expect(left).toHaveLength(1);
      // Every session but the survivor was reported as replaced exactly once.
      expect(results.flatMap((r) => r.replaced)).toHaveLength(9);
    });

    it('16 users signing in on their own devices at once, 20 times each: none fails, one session per device', async () => {
      // Different users never conflict (PostgreSQL: no predicate locks across users' rows).
      const users = await Promise.all(
        Array.from({ length: 16 }, async () => {
          const u = makeUser();
          await stores.users.create(u);
          return u;
        }),
      );
      const failures: unknown[] = [];
      await Promise.all(
        users.map(async (u) => {
          for (let round = 1; round <= 20; round++) {
            try {
              const { replaced } = await stores.sessions.createReplacingDevice(makeSession(u.id, { deviceId: 'tv' }));
              if (replaced.length !== (round === 1 ? 0 : 1)) failures.push(`${replaced.length} replaced at round ${round}`);
            } catch (err) {
              failures.push(err);
            }
          }
        }),
      );
      expect(failures).toEqual([]);
      for (const u of users) expect(await stores.sessions.listByUser(u.id)).toHaveLength(1);
    });

    it('refuses a second session with the same token hash', async () => {
      const s = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(s);
      await expect(stores.sessions.createReplacingDevice(makeSession(bob.id, { tokenHash: s.tokenHash }))).rejects.toThrow();
      expect(await stores.sessions.listByUser(bob.id)).toEqual([]);
    });

    it('touch moves lastSeenAt and the sliding expiry, never past the absolute expiry', async () => {
      const s = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(s);
      await stores.sessions.touch(s.id, T0 + DAY, T0 + 31 * DAY);
      expect(await stores.sessions.findById(s.id)).toEqual({ ...s, lastSeenAt: T0 + DAY, expiresAt: T0 + 31 * DAY });
      await stores.sessions.touch(s.id, T0 + 80 * DAY, T0 + 110 * DAY);
      expect(await stores.sessions.findById(s.id)).toMatchObject({ lastSeenAt: T0 + 80 * DAY, expiresAt: s.absoluteExpiresAt });
      await stores.sessions.touch('unknown', T0, T0); // no-op, no error
    });

    it('deletes one session and says whether it existed', async () => {
      const s = makeSession(alice.id);
      const keep = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(s);
      await stores.sessions.createReplacingDevice(keep);
      expect(await stores.sessions.delete(s.id)).toBe(true);
      expect(await stores.sessions.delete(s.id)).toBe(false);
      expect(await stores.sessions.findByTokenHash(s.tokenHash)).toBeNull();
      expect(await stores.sessions.findById(keep.id)).toEqual(keep);
    });

    it('deleteByUser removes every session of the user but the exception, returning their ids', async () => {
      const [a1, a2, a3] = [makeSession(alice.id), makeSession(alice.id), makeSession(alice.id)];
      const b1 = makeSession(bob.id);
      for (const s of [a1!, a2!, a3!, b1]) await stores.sessions.createReplacingDevice(s);
      expect((await stores.sessions.deleteByUser(alice.id, a2!.id)).sort()).toEqual(ids([a1!, a3!]));
      expect(await stores.sessions.listByUser(alice.id)).toEqual([a2]);
      expect(await stores.sessions.deleteByUser(alice.id)).toEqual([a2!.id]);
      expect(await stores.sessions.listByUser(alice.id)).toEqual([]);
      expect(await stores.sessions.deleteByUser(alice.id)).toEqual([]);
      expect(await stores.sessions.findById(b1.id)).toEqual(b1);
    });

    it('deleteByClient removes the sessions whose refresh tokens name the client, of every user, with their tokens, and returns them', async () => {
      const tvA = makeSession(alice.id, { deviceName: 'Living-room TV' });
      const tvB = makeSession(bob.id);
      const otherClient = makeSession(alice.id);
      const firstParty = makeSession(alice.id);
      const browser = makeSession(bob.id);
      for (const s of [tvA, tvB, otherClient, firstParty, browser]) await stores.sessions.createReplacingDevice(s);
      const token = (sessionId: string, clientId: string | null, createdAt = T0) => ({ tokenHash: hashSecret(`${sessionId}-${createdAt}`), sessionId, createdAt, rotatedAt: null, clientId });
      await stores.refreshTokens.create(token(tvA.id, 'tv'));
      // A rotated family: the successor keeps the client.
      expect(await stores.refreshTokens.rotate(token(tvA.id, 'tv').tokenHash, token(tvA.id, null, T0 + 1), T0 + 1)).toBe('rotated');
      await stores.refreshTokens.create(token(tvB.id, 'tv'));
      await stores.refreshTokens.create(token(otherClient.id, 'tv2'));
      await stores.refreshTokens.create(token(firstParty.id, null));

      const deleted = await stores.sessions.deleteByClient('tv');
      expect(deleted.sort((x, y) => x.id.localeCompare(y.id))).toEqual([tvA, tvB].sort((x, y) => x.id.localeCompare(y.id)));
      expect(ids(await stores.sessions.listByUser(alice.id))).toEqual(ids([otherClient, firstParty]));
      expect(await stores.sessions.listByUser(bob.id)).toEqual([browser]);
      expect(await stores.refreshTokens.listBySession(tvA.id)).toEqual([]);
      expect(await stores.refreshTokens.findByHash(token(tvB.id, 'tv').tokenHash)).toBeNull();
      expect(await stores.refreshTokens.listBySession(otherClient.id)).toHaveLength(1);
      expect(await stores.sessions.deleteByClient('tv')).toEqual([]);
      expect(await stores.sessions.deleteByClient('nobody')).toEqual([]);
    });

    it('deleteExpired removes sessions past their sliding or absolute expiry (inclusive) and counts them', async () => {
      const now = T0 + 10 * DAY;
      const slidingDue = makeSession(alice.id, { expiresAt: now, absoluteExpiresAt: now + DAY });
      const absoluteDue = makeSession(alice.id, { expiresAt: now + DAY, absoluteExpiresAt: now });
      const past = makeSession(bob.id, { expiresAt: now - DAY, absoluteExpiresAt: now - 1 });
      const alive = makeSession(bob.id, { expiresAt: now + 1, absoluteExpiresAt: now + DAY });
      for (const s of [slidingDue, absoluteDue, past, alive]) await stores.sessions.createReplacingDevice(s);
      expect(await stores.sessions.deleteExpired(now)).toBe(3);
      expect(await stores.sessions.listByUser(alice.id)).toEqual([]);
      expect(await stores.sessions.listByUser(bob.id)).toEqual([alive]);
      expect(await stores.sessions.deleteExpired(now)).toBe(0);
    });

    it('stores how the user authenticated (amr, authTime); a session written without them proved a password at creation', async () => {
      const mfa = makeSession(alice.id, { amr: ['pwd', 'otp', 'mfa'], authTime: T0 + 7 });
      const { amr: _a, authTime: _t, ...bare } = makeSession(bob.id, { createdAt: T0 + 3 });
      for (const x of [mfa, bare]) await stores.sessions.createReplacingDevice(x);
      expect(await stores.sessions.findById(mfa.id)).toEqual(mfa);
      expect((await stores.sessions.getWithUser(mfa.tokenHash))?.session).toEqual(mfa);
      expect(await stores.sessions.findById(bare.id)).toEqual({ ...bare, amr: ['pwd'], authTime: T0 + 3 });
    });

    it('recordAuthentication sets amr and authTime in place (same id, secret and expiry), never backwards', async () => {
      const s = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(s);
      const later = await stores.sessions.recordAuthentication(s.id, ['pwd', 'otp', 'mfa'], T0 + 60_000);
      expect(later).toEqual({ ...s, amr: ['pwd', 'otp', 'mfa'], authTime: T0 + 60_000 });
      expect(await stores.sessions.findByTokenHash(s.tokenHash)).toEqual(later);
      // An older authentication arriving late does not undo the newer one.
      expect(await stores.sessions.recordAuthentication(s.id, ['pwd'], T0 + 30_000)).toEqual(later);
      expect(await stores.sessions.recordAuthentication('unknown', ['pwd'], T0)).toBeNull();
    });

    it.skipIf(!options.reopen)('keeps sessions across a restart', async () => {
      const s = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(s);
      stores = await options.reopen!(stores);
      expect(await stores.sessions.findByTokenHash(s.tokenHash)).toEqual(s);
    });

    it.skipIf(!options.rawBytes)('stores only the hash of the session secret', async () => {
      const secret = 's3cret-session-token-value';
      const s = makeSession(alice.id, { tokenHash: hashSecret(secret) });
      await stores.sessions.createReplacingDevice(s);
      const raw = await options.rawBytes!(stores);
      expect(raw.includes(Buffer.from(hashSecret(secret)))).toBe(true); // the check reads the right bytes
      expect(raw.includes(Buffer.from(secret))).toBe(false);
      expect(raw.includes(Buffer.from('s3cret'))).toBe(false);
    });
  });
}
