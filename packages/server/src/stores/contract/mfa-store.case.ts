import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { MfaTicketRecord, Stores, UserRecord } from '../types.js';
import { makeUser, type MakeStores, type StoreContractOptions, T0 } from './fixtures.test-helpers.js';

const MIN = 60_000;

/** The MfaStore contract (issue 17: TOTP factors, recovery codes, MFA tickets), run by every backend's test file. */
export function runMfaStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`MfaStore contract: ${name}`, () => {
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

    const ticket = (over: Partial<MfaTicketRecord> = {}): MfaTicketRecord => ({
      ticketHash: hashSecret(`ticket-${Math.random()}`),
      userId: alice.id,
      via: 'signin',
      deviceId: 'dev-1',
      deviceName: null,
      persistent: true,
      clientId: null,
      scope: null,
      createdAt: T0,
      expiresAt: T0 + 5 * MIN,
      usedAt: null,
      ...over,
    });

    it('a pending factor is replaced by a new enrolment, a confirmed one is not; confirming needs the same secret, once', async () => {
      expect(await stores.mfa.findTotp(alice.id)).toBeNull();
      expect(await stores.mfa.putPendingTotp({ userId: alice.id, secretJwe: 'jwe-1', createdAt: T0, confirmedAt: null, lastStep: null })).toBe(true);
      expect(await stores.mfa.putPendingTotp({ userId: alice.id, secretJwe: 'jwe-2', createdAt: T0 + 1, confirmedAt: null, lastStep: null })).toBe(true);
      expect(await stores.mfa.findTotp(alice.id)).toEqual({ userId: alice.id, secretJwe: 'jwe-2', createdAt: T0 + 1, confirmedAt: null, lastStep: null });
      // The replaced secret cannot be confirmed (a code from the first QR code after a second enrolment).
      expect(await stores.mfa.confirmTotp(alice.id, 'jwe-1', 100, T0 + 2)).toBe(false);
      const confirms = await Promise.all([1, 2, 3].map(() => stores.mfa.confirmTotp(alice.id, 'jwe-2', 100, T0 + 2)));
      expect(confirms.filter(Boolean)).toHaveLength(1);
      expect(await stores.mfa.findTotp(alice.id)).toEqual({ userId: alice.id, secretJwe: 'jwe-2', createdAt: T0 + 1, confirmedAt: T0 + 2, lastStep: 100 });
      expect(await stores.mfa.putPendingTotp({ userId: alice.id, secretJwe: 'jwe-3', createdAt: T0 + 3, confirmedAt: null, lastStep: null })).toBe(false);
      expect((await stores.mfa.findTotp(alice.id))?.secretJwe).toBe('jwe-2');
      expect(await stores.mfa.findTotp(bob.id)).toBeNull();
    });

    it('a time step is taken once and only forwards; never for a pending factor', async () => {
      await stores.mfa.putPendingTotp({ userId: alice.id, secretJwe: 'jwe', createdAt: T0, confirmedAt: null, lastStep: null });
      expect(await stores.mfa.useTotpStep(alice.id, 50)).toBe(false);
      await stores.mfa.confirmTotp(alice.id, 'jwe', 100, T0);
      expect(await stores.mfa.useTotpStep(alice.id, 100)).toBe(false);
      expect(await stores.mfa.useTotpStep(alice.id, 99)).toBe(false);
      const takes = await Promise.all(Array.from({ length: 10 }, () => stores.mfa.useTotpStep(alice.id, 101)));
      expect(takes.filter(Boolean)).toHaveLength(1);
      expect((await stores.mfa.findTotp(alice.id))?.lastStep).toBe(101);
      expect(await stores.mfa.useTotpStep(bob.id, 200)).toBe(false);
      expect(await stores.mfa.deleteTotp(alice.id)).toBe(true);
      expect(await stores.mfa.deleteTotp(alice.id)).toBe(false);
      expect(await stores.mfa.findTotp(alice.id)).toBeNull();
    });

    it('recovery codes: replaced as a set, each used once, only by their user', async () => {
      await stores.mfa.replaceRecoveryCodes(alice.id, ['h1', 'h2', 'h3'], T0);
      await stores.mfa.replaceRecoveryCodes(bob.id, ['h9'], T0);
      expect(await stores.mfa.countUnusedRecoveryCodes(alice.id)).toBe(3);
      expect(await stores.mfa.useRecoveryCode(bob.id, 'h1', T0)).toBe(false);
      const uses = await Promise.all(Array.from({ length: 10 }, () => stores.mfa.useRecoveryCode(alice.id, 'h1', T0 + 1)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect(await stores.mfa.countUnusedRecoveryCodes(alice.id)).toBe(2);
      await stores.mfa.replaceRecoveryCodes(alice.id, ['n1', 'n2'], T0 + 2);
      expect(await stores.mfa.useRecoveryCode(alice.id, 'h2', T0 + 3)).toBe(false);
      expect(await stores.mfa.countUnusedRecoveryCodes(alice.id)).toBe(2);
      expect(await stores.mfa.deleteRecoveryCodes(alice.id)).toBe(2);
      expect(await stores.mfa.countUnusedRecoveryCodes(alice.id)).toBe(0);
      expect(await stores.mfa.countUnusedRecoveryCodes(bob.id)).toBe(1);
    });

    it('a ticket reads back unchanged and is used once, never after it expires', async () => {
      const t = ticket({ via: 'password_grant', deviceId: null, persistent: false, clientId: 'app', scope: 'openid account' });
      await stores.mfa.createTicket(t);
      expect(await stores.mfa.findTicket(t.ticketHash)).toEqual(t);
      expect(await stores.mfa.findTicket('unknown')).toBeNull();
      const uses = await Promise.all(Array.from({ length: 10 }, () => stores.mfa.useTicket(t.ticketHash, T0 + MIN)));
      expect(uses.filter(Boolean)).toHaveLength(1);
      expect((await stores.mfa.findTicket(t.ticketHash))?.usedAt).toBe(T0 + MIN);
      const late = ticket();
      await stores.mfa.createTicket(late);
      expect(await stores.mfa.useTicket(late.ticketHash, late.expiresAt)).toBe(false);
      expect(await stores.mfa.deleteExpiredTickets(T0 + 6 * MIN)).toBe(2);
      expect(await stores.mfa.findTicket(late.ticketHash)).toBeNull();
    });

    if (options.reopen) {
      const reopen = options.reopen;
      it('survives a restart', async () => {
        await stores.mfa.putPendingTotp({ userId: alice.id, secretJwe: 'jwe', createdAt: T0, confirmedAt: null, lastStep: null });
        await stores.mfa.confirmTotp(alice.id, 'jwe', 7, T0);
        stores = await reopen(stores);
        expect(await stores.mfa.useTotpStep(alice.id, 7)).toBe(false);
        expect(await stores.mfa.useTotpStep(alice.id, 8)).toBe(true);
      });
    }
  });
}
