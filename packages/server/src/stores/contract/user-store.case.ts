import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NO_PASSWORD, UsernameTakenError, type Stores } from '../types.js';
import { DAY, makeApiToken, makeSession, makeUser, T0, type MakeStores, type StoreContractOptions } from './fixtures.test-helpers.js';

/** The UserStore contract, run by every backend's test file. */
export function runUserStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`UserStore contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    it('creates a user and finds it by id and by canonical name, unchanged', async () => {
      const u = makeUser({ username: 'José-María', usernameCanonical: 'josé-maría', roles: ['admin', 'staff'] });
      await stores.users.create(u);
      expect(await stores.users.findById(u.id)).toEqual(u);
      expect(await stores.users.findByCanonical('josé-maría')).toEqual(u);
    });

    it('answers null for an unknown id or name, and does not match another case', async () => {
      await stores.users.create(makeUser({ username: 'alice', usernameCanonical: 'alice' }));
      expect(await stores.users.findById('nope')).toBeNull();
      expect(await stores.users.findByCanonical('bob')).toBeNull();
      expect(await stores.users.findByCanonical('ALICE')).toBeNull();
    });

    it('setPasswordHashIfNone sets the first password of a password-less user only, once', async () => {
      const fed = makeUser({ passwordHash: NO_PASSWORD });
      const pw = makeUser();
      for (const u of [fed, pw]) await stores.users.create(u);
      expect(await stores.users.setPasswordHashIfNone(pw.id, '$argon2id$new', T0 + 1)).toBe(false);
      expect(await stores.users.findById(pw.id)).toEqual(pw);
      const both = await Promise.all(['$argon2id$a', '$argon2id$b'].map((h) => stores.users.setPasswordHashIfNone(fed.id, h, T0 + 2)));
      expect(both.sort()).toEqual([false, true]);
      const after = await stores.users.findById(fed.id);
      expect(['$argon2id$a', '$argon2id$b']).toContain(after?.passwordHash);
      expect(after?.updatedAt).toBe(T0 + 2);
      expect(await stores.users.setPasswordHashIfNone('nobody', '$argon2id$x', T0)).toBe(false);
    });

    it('lists every user, oldest first', async () => {
      const a = makeUser({ createdAt: T0 + 2, updatedAt: T0 + 2 });
      const b = makeUser({ createdAt: T0 + 1, updatedAt: T0 + 1 });
      expect(await stores.users.list()).toEqual([]);
      await stores.users.create(a);
      await stores.users.create(b);
      expect(await stores.users.list()).toEqual([b, a]);
    });

    it('refuses a second user with the same canonical name and keeps the first intact', async () => {
      const first = makeUser({ username: 'Carol', usernameCanonical: 'carol' });
      await stores.users.create(first);
      await expect(stores.users.create(makeUser({ username: 'CAROL', usernameCanonical: 'carol' }))).rejects.toBeInstanceOf(UsernameTakenError);
      expect(await stores.users.list()).toEqual([first]);
    });

    it('50 concurrent creates of one canonical name: exactly one row, 49 UsernameTakenError', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => stores.users.create(makeUser({ username: i % 2 ? 'RaceName' : 'racename', usernameCanonical: 'racename' }))),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const taken = results.filter((r) => r.status === 'rejected' && r.reason instanceof UsernameTakenError);
      expect(ok).toHaveLength(1);
      expect(taken).toHaveLength(49);
      expect((await stores.users.list()).filter((u) => u.usernameCanonical === 'racename')).toHaveLength(1);
    });

    it('finds the oldest user whose name looks the same (UTS #39 skeleton), across scripts and case; not other names', async () => {
      const admin = makeUser({ username: 'Admin', usernameCanonical: 'admin', createdAt: T0 + 1 });
      await stores.users.create(admin);
      expect(await stores.users.findLookalike('admin')).toEqual(admin);
      expect(await stores.users.findLookalike('\u0430dmin')).toEqual(admin); // Cyrillic а
      expect(await stores.users.findLookalike('\u03b1dmin')).toEqual(admin); // Greek α
      expect(await stores.users.findLookalike('adrnin')).toEqual(admin); // "rn" for "m"
      expect(await stores.users.findLookalike('admins')).toBeNull();
      expect(await stores.users.findLookalike('\u0430\u0434\u043c\u0438\u043d')).toBeNull(); // all-Cyrillic "админ"
      // A look-alike pair that exists (created before the rule): the oldest answers.
      const older = makeUser({ username: 'g00gle', usernameCanonical: 'g00gle', createdAt: T0 });
      const newer = makeUser({ username: 'google', usernameCanonical: 'google', createdAt: T0 + 5 });
      await stores.users.create(newer);
      await stores.users.create(older);
      expect(await stores.users.findLookalike('google')).toEqual(older);
      expect(await stores.users.findLookalike('\u0261oo\u0261le')).toEqual(older); // Latin script g
    });

    it('sets the password hash and roles, moving updatedAt and nothing else', async () => {
      const u = makeUser({ roles: ['staff'] });
      await stores.users.create(u);
      await stores.users.setPasswordHash(u.id, '$argon2id$new', T0 + 10);
      await stores.users.setRoles(u.id, ['admin'], T0 + 20);
      expect(await stores.users.findById(u.id)).toEqual({ ...u, passwordHash: '$argon2id$new', roles: ['admin'], updatedAt: T0 + 20 });
      await stores.users.setRoles(u.id, [], T0 + 30);
      expect((await stores.users.findById(u.id))?.roles).toEqual([]);
    });

    it('password_change_required: set and cleared, and cleared by a new password hash (issue 18)', async () => {
      const u = makeUser();
      await stores.users.create(u);
      expect((await stores.users.findById(u.id))?.passwordChangeRequired).toBe(false);
      expect(await stores.users.setPasswordChangeRequired(u.id, true, T0 + 10)).toBe(true);
      expect(await stores.users.findById(u.id)).toEqual({ ...u, passwordChangeRequired: true, updatedAt: T0 + 10 });
      await stores.users.setPasswordHash(u.id, '$argon2id$new', T0 + 20);
      expect(await stores.users.findById(u.id)).toEqual({ ...u, passwordHash: '$argon2id$new', passwordChangeRequired: false, updatedAt: T0 + 20 });
      expect(await stores.users.setPasswordChangeRequired('nobody', true, T0 + 30)).toBe(false);
    });

    it('renames a user: found by the new name (and its look-alikes), not the old one; updatedAt moves, nothing else', async () => {
      const u = makeUser({ username: 'Old-Name', usernameCanonical: 'old-name', roles: ['staff'] });
      const other = makeUser();
      await stores.users.create(u);
      await stores.users.create(other);
      expect(await stores.users.rename(u.id, 'Nouveau', 'nouveau', T0 + 7)).toBe(true);
      const renamed = { ...u, username: 'Nouveau', usernameCanonical: 'nouveau', updatedAt: T0 + 7 };
      expect(await stores.users.findById(u.id)).toEqual(renamed);
      expect(await stores.users.findByCanonical('nouveau')).toEqual(renamed);
      expect(await stores.users.findByCanonical('old-name')).toBeNull();
      expect(await stores.users.findLookalike('N0uveau')).toEqual(renamed); // the skeleton follows the name
      expect(await stores.users.findLookalike('Old-Name')).toBeNull();
      expect(await stores.users.findById(other.id)).toEqual(other);
      expect(await stores.users.rename('nobody', 'ghost-name', 'ghost-name', T0 + 8)).toBe(false);
      expect(await stores.users.findByCanonical('ghost-name')).toBeNull();
      // The old name is free again.
      await stores.users.create(makeUser({ username: 'old-name', usernameCanonical: 'old-name' }));
    });

    it('refuses a rename to a canonical name another user holds, writing nothing', async () => {
      const carol = makeUser({ username: 'Carol', usernameCanonical: 'carol' });
      const dave = makeUser({ username: 'dave', usernameCanonical: 'dave' });
      await stores.users.create(carol);
      await stores.users.create(dave);
      await expect(stores.users.rename(dave.id, 'CAROL', 'carol', T0 + 3)).rejects.toBeInstanceOf(UsernameTakenError);
      expect(await stores.users.findById(dave.id)).toEqual(dave);
      expect(await stores.users.findByCanonical('carol')).toEqual(carol);
    });

    it('20 users racing to rename to one free name: exactly one wins, the rest get UsernameTakenError', async () => {
      const racers = Array.from({ length: 20 }, () => makeUser());
      for (const u of racers) await stores.users.create(u);
      const results = await Promise.allSettled(racers.map((u, i) => stores.users.rename(u.id, i % 2 ? 'Prize' : 'prize', 'prize', T0 + 1)));
      expect(results.filter((r) => r.status === 'fulfilled' && r.value === true)).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof UsernameTakenError)).toHaveLength(19);
      expect((await stores.users.list()).filter((u) => u.usernameCanonical === 'prize')).toHaveLength(1);
    });

    it.skipIf(!options.reopen)('keeps users across a restart', async () => {
      const u = makeUser({ roles: ['admin'] });
      await stores.users.create(u);
      stores = await options.reopen!(stores);
      expect(await stores.users.findById(u.id)).toEqual(u);
      await expect(stores.users.create(makeUser({ usernameCanonical: u.usernameCanonical }))).rejects.toBeInstanceOf(UsernameTakenError);
    });
    it('setDisabled disables (keeping the first time when asked again), enables, and the summary next to a credential says so', async () => {
      const u = makeUser();
      const other = makeUser();
      for (const x of [u, other]) await stores.users.create(x);
      const session = makeSession(u.id);
      await stores.sessions.createReplacingDevice(session);
      const token = makeApiToken(u.id);
      await stores.apiTokens.create(token);
      expect(await stores.users.setDisabled(u.id, T0 + 10, T0 + 10)).toEqual({ ...u, disabledAt: T0 + 10, updatedAt: T0 + 10 });
      expect(await stores.users.setDisabled(u.id, T0 + 20, T0 + 20)).toMatchObject({ disabledAt: T0 + 10, updatedAt: T0 + 10 });
      expect((await stores.sessions.getWithUser(session.tokenHash))?.user.disabledAt).toBe(T0 + 10);
      expect((await stores.apiTokens.getWithUser(token.tokenHash))?.user.disabledAt).toBe(T0 + 10);
      expect(await stores.users.findById(other.id)).toEqual(other);
      expect(await stores.users.setDisabled(u.id, null, T0 + 30)).toEqual({ ...u, disabledAt: null, updatedAt: T0 + 30 });
      expect(await stores.users.setDisabled(u.id, null, T0 + 40)).toMatchObject({ disabledAt: null, updatedAt: T0 + 30 });
      expect((await stores.sessions.getWithUser(session.tokenHash))?.user.disabledAt).toBeNull();
      expect(await stores.users.setDisabled('nobody', T0, T0)).toBeNull();
    });

    it('delete removes the user and every row of theirs, pseudonymises their audit events, quarantines the name; leaves others alone', async () => {
      const u = makeUser({ username: 'Dora', usernameCanonical: 'dora' });
      const other = makeUser();
      for (const x of [u, other]) await stores.users.create(x);
      for (const owner of [u, other]) {
        const s = makeSession(owner.id);
        await stores.sessions.createReplacingDevice(s);
        await stores.refreshTokens.create({ tokenHash: `rt-${s.id}`, sessionId: s.id, createdAt: T0, rotatedAt: null, clientId: null });
        await stores.apiTokens.create(makeApiToken(owner.id));
        await stores.identities.link({ provider: 'gh', subject: `sub-${owner.id}`, userId: owner.id, email: null, emailVerified: false, createdAt: T0, lastUsedAt: T0 });
        await stores.mfa.putPendingTotp({ userId: owner.id, secretJwe: 'jwe', createdAt: T0, confirmedAt: null, lastStep: null });
        await stores.mfa.replaceRecoveryCodes(owner.id, [`code-${owner.id}`], T0);
        await stores.mfa.createTicket({ ticketHash: `t-${owner.id}`, userId: owner.id, via: 'signin', deviceId: null, deviceName: null, persistent: false, clientId: null, scope: null, createdAt: T0, expiresAt: T0 + DAY, usedAt: null });
        await stores.webauthn.createCredential({ id: `cred-${owner.id}`, userId: owner.id, publicKey: 'pk', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, name: 'key', createdAt: T0, lastUsedAt: null });
        await stores.audit.append({ id: `ev-${owner.id}`, userId: owner.id, type: 'signin.success', at: T0, ip: '192.0.2.1', deviceId: 'dev', userAgent: 'UA', detail: { sid: 's' } });
      }
      const deleted = await stores.users.delete(u.id, { auditSubject: 'deleted:abc', quarantineUntil: T0 + DAY });
      expect(deleted).toEqual(u);
      expect(await stores.users.findById(u.id)).toBeNull();
      expect(await stores.sessions.listByUser(u.id)).toEqual([]);
      expect(await stores.apiTokens.listByUser(u.id)).toEqual([]);
      expect(await stores.identities.listForUser(u.id)).toEqual([]);
      expect(await stores.mfa.findTotp(u.id)).toBeNull();
      expect(await stores.mfa.countUnusedRecoveryCodes(u.id)).toBe(0);
      expect(await stores.mfa.findTicket(`t-${u.id}`)).toBeNull();
      expect(await stores.webauthn.listCredentials(u.id)).toEqual([]);
      expect(await stores.audit.listByUser(u.id, 10)).toEqual([]);
      expect(await stores.audit.listByUser('deleted:abc', 10)).toEqual([
        { id: `ev-${u.id}`, userId: 'deleted:abc', type: 'signin.success', at: T0, ip: null, deviceId: null, userAgent: null, detail: null },
      ]);
      // The other user keeps everything.
      expect(await stores.sessions.listByUser(other.id)).toHaveLength(1);
      expect(await stores.apiTokens.listByUser(other.id)).toHaveLength(1);
      expect(await stores.identities.listForUser(other.id)).toHaveLength(1);
      expect(await stores.mfa.findTotp(other.id)).not.toBeNull();
      expect(await stores.webauthn.listCredentials(other.id)).toHaveLength(1);
      expect((await stores.audit.listByUser(other.id, 10))[0]).toMatchObject({ ip: '192.0.2.1', detail: { sid: 's' } });
      // An unknown user: nothing written.
      expect(await stores.users.delete(u.id, { auditSubject: 'deleted:abc', quarantineUntil: T0 + DAY })).toBeNull();
    });

    it('isQuarantined: the canonical name and its look-alikes until the quarantine ends; none when asked for none', async () => {
      const u = makeUser({ username: 'alice', usernameCanonical: 'alice' });
      const v = makeUser({ username: 'bob', usernameCanonical: 'bob' });
      for (const x of [u, v]) await stores.users.create(x);
      expect(await stores.users.isQuarantined('alice', 'alice', T0)).toBe(false);
      await stores.users.delete(u.id, { auditSubject: 'deleted:a', quarantineUntil: T0 + DAY });
      await stores.users.delete(v.id, { auditSubject: 'deleted:b', quarantineUntil: null });
      expect(await stores.users.isQuarantined('alice', 'Alice', T0 + DAY - 1)).toBe(true);
      // Cyrillic "а" and a capital "I" for "l": the same skeleton.
      expect(await stores.users.isQuarantined('\u0430lice', '\u0430lice', T0)).toBe(true);
      expect(await stores.users.isQuarantined('aiice', 'aIice', T0)).toBe(true);
      expect(await stores.users.isQuarantined('alice', 'alice', T0 + DAY)).toBe(false);
      expect(await stores.users.isQuarantined('bob', 'bob', T0)).toBe(false);
      // A new account may take the name once it is free; deleting it again renews the quarantine.
      const again = makeUser({ username: 'alice', usernameCanonical: 'alice' });
      await stores.users.create(again);
      await stores.users.delete(again.id, { auditSubject: 'deleted:c', quarantineUntil: T0 + 3 * DAY });
      expect(await stores.users.isQuarantined('alice', 'alice', T0 + 2 * DAY)).toBe(true);
    });
  });
}
