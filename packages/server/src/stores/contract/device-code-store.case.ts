import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import { UserCodeTakenError, type DeviceCodeRecord, type Stores, type UserRecord } from '../types.js';
import { makeClient, makeUser, type MakeStores, type StoreContractOptions, T0 } from './fixtures.test-helpers.js';

const MIN = 60_000;

/** The DeviceCodeStore contract (RFC 8628 device authorization requests), run by every backend's test file. */
export function runDeviceCodeStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`DeviceCodeStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    beforeEach(async () => {
      stores = await makeStores();
      alice = makeUser();
      await stores.users.create(alice);
      await stores.clients.create(makeClient({ clientId: 'tv-app', type: 'public', grants: ['device_code', 'refresh_token'], service: null, secrets: [] }));
    });
    afterEach(async () => {
      await stores.close();
    });

    let n = 0;
    const code = (over: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord => {
      n++;
      return {
        deviceCodeHash: hashSecret(`device-${n}-${Math.random()}`),
        userCode: `BCDF${'GHJK'.charAt(n % 4)}LMN`,
        clientId: 'tv-app',
        scope: 'notes:read',
        deviceName: 'Living-room TV',
        createdAt: T0,
        expiresAt: T0 + 10 * MIN,
        intervalSec: 5,
        lastPollAt: null,
        status: 'pending',
        userId: null,
        ...over,
      };
    };

    it('creates a request and reads it back unchanged, by hash and (while pending and live) by user code', async () => {
      const r = code({ deviceName: null });
      await stores.deviceCodes.create(r);
      expect(await stores.deviceCodes.findByHash(r.deviceCodeHash)).toEqual(r);
      expect(await stores.deviceCodes.findByHash('unknown')).toBeNull();
      expect(await stores.deviceCodes.findPendingByUserCode(r.userCode, T0 + 1)).toEqual(r);
      expect(await stores.deviceCodes.findPendingByUserCode('BCDFBCDF', T0 + 1)).toBeNull();
      // Expired: no longer found by user code, still by hash (the poll answers expired_token).
      expect(await stores.deviceCodes.findPendingByUserCode(r.userCode, r.expiresAt)).toBeNull();
      expect(await stores.deviceCodes.findByHash(r.deviceCodeHash)).toEqual(r);
    });

    it('a user code is unique among live requests; an expired holder gives it up', async () => {
      const first = code({ userCode: 'QQQQRRRR' });
      await stores.deviceCodes.create(first);
      await expect(stores.deviceCodes.create(code({ userCode: 'QQQQRRRR', createdAt: T0 + MIN }))).rejects.toBeInstanceOf(UserCodeTakenError);
      // A used one keeps its code until it expires too (a used code never turns into someone else's).
      expect(await stores.deviceCodes.decide('QQQQRRRR', 'denied', alice.id, T0 + MIN)).not.toBeNull();
      await expect(stores.deviceCodes.create(code({ userCode: 'QQQQRRRR', createdAt: T0 + 2 * MIN }))).rejects.toBeInstanceOf(UserCodeTakenError);
      const later = code({ userCode: 'QQQQRRRR', createdAt: first.expiresAt, expiresAt: first.expiresAt + 10 * MIN });
      await stores.deviceCodes.create(later);
      expect(await stores.deviceCodes.findByHash(first.deviceCodeHash)).toBeNull();
      expect(await stores.deviceCodes.findPendingByUserCode('QQQQRRRR', first.expiresAt + 1)).toEqual(later);
    });

    it('decide: pending and live -> approved or denied, once; expired or decided -> null, nothing changes', async () => {
      const a = code({ userCode: 'AAAABBBB' });
      const d = code({ userCode: 'CCCCDDDD' });
      const old = code({ userCode: 'FFFFGGGG' });
      for (const r of [a, d, old]) await stores.deviceCodes.create(r);
      expect(await stores.deviceCodes.decide('AAAABBBB', 'approved', alice.id, T0 + 1)).toEqual({ ...a, status: 'approved', userId: alice.id });
      expect(await stores.deviceCodes.decide('AAAABBBB', 'denied', alice.id, T0 + 2)).toBeNull();
      expect(await stores.deviceCodes.decide('CCCCDDDD', 'denied', alice.id, T0 + 1)).toEqual({ ...d, status: 'denied', userId: alice.id });
      expect(await stores.deviceCodes.decide('FFFFGGGG', 'approved', alice.id, old.expiresAt)).toBeNull();
      expect(await stores.deviceCodes.decide('ZZZZZZZZ', 'approved', alice.id, T0)).toBeNull();
      expect((await stores.deviceCodes.findByHash(a.deviceCodeHash))?.status).toBe('approved');
      expect((await stores.deviceCodes.findByHash(old.deviceCodeHash))?.status).toBe('pending');
    });

    it('decide records how the approving session signed in (amr, auth_time), read back with the request', async () => {
      const r = code({ userCode: 'MMMMNNNN' });
      await stores.deviceCodes.create(r);
      const approval = { amr: ['hwk', 'user', 'mfa'], authTime: T0 - 5 * MIN };
      const approved = { ...r, status: 'approved', userId: alice.id, approvedAmr: approval.amr, approvedAuthTime: approval.authTime };
      expect(await stores.deviceCodes.decide('MMMMNNNN', 'approved', alice.id, T0 + 1, approval)).toEqual(approved);
      expect(await stores.deviceCodes.findByHash(r.deviceCodeHash)).toEqual(approved);
    });

    it('10 parallel decisions of one request: exactly one wins', async () => {
      const r = code({ userCode: 'HHHHJJJJ' });
      await stores.deviceCodes.create(r);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => stores.deviceCodes.decide('HHHHJJJJ', i % 2 ? 'approved' : 'denied', alice.id, T0 + 1)));
      expect(results.filter((x) => x !== null)).toHaveLength(1);
    });

    it('redeem: approved and live -> redeemed exactly once, even for 10 parallel calls; pending, denied or expired never', async () => {
      const r = code({ userCode: 'KKKKLLLL' });
      const pending = code({ userCode: 'MMMMNNNN' });
      const denied = code({ userCode: 'PPPPQQQQ' });
      for (const x of [r, pending, denied]) await stores.deviceCodes.create(x);
      await stores.deviceCodes.decide('KKKKLLLL', 'approved', alice.id, T0 + 1);
      await stores.deviceCodes.decide('PPPPQQQQ', 'denied', alice.id, T0 + 1);
      expect(await stores.deviceCodes.redeem(r.deviceCodeHash, r.expiresAt)).toBe(false);
      const results = await Promise.all(Array.from({ length: 10 }, () => stores.deviceCodes.redeem(r.deviceCodeHash, T0 + 2)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await stores.deviceCodes.findByHash(r.deviceCodeHash))?.status).toBe('redeemed');
      expect(await stores.deviceCodes.redeem(r.deviceCodeHash, T0 + 3)).toBe(false);
      expect(await stores.deviceCodes.redeem(pending.deviceCodeHash, T0 + 3)).toBe(false);
      expect(await stores.deviceCodes.redeem(denied.deviceCodeHash, T0 + 3)).toBe(false);
      expect(await stores.deviceCodes.redeem('unknown', T0 + 3)).toBe(false);
    });

    it('release: redeemed -> approved (a redemption whose tokens failed), so it can be redeemed again; nothing else', async () => {
      const r = code({ userCode: 'VVVVWWWW' });
      await stores.deviceCodes.create(r);
      expect(await stores.deviceCodes.release(r.deviceCodeHash)).toBe(false); // pending
      await stores.deviceCodes.decide('VVVVWWWW', 'approved', alice.id, T0 + 1);
      expect(await stores.deviceCodes.release(r.deviceCodeHash)).toBe(false); // approved
      expect(await stores.deviceCodes.redeem(r.deviceCodeHash, T0 + 2)).toBe(true);
      expect(await stores.deviceCodes.release(r.deviceCodeHash)).toBe(true);
      expect((await stores.deviceCodes.findByHash(r.deviceCodeHash))?.status).toBe('approved');
      expect(await stores.deviceCodes.redeem(r.deviceCodeHash, T0 + 3)).toBe(true);
    });

    it('slowDown: raises the interval and records the poll only from the interval the caller saw (once for parallel callers)', async () => {
      const r = code({ userCode: 'RRRRSSSS' });
      await stores.deviceCodes.create(r);
      const results = await Promise.all([1, 2, 3].map((i) => stores.deviceCodes.slowDown(r.deviceCodeHash, 5, 10, T0 + i)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const after = await stores.deviceCodes.findByHash(r.deviceCodeHash);
      expect(after?.intervalSec).toBe(10);
      expect(after?.lastPollAt).toBeGreaterThan(T0);
      expect(await stores.deviceCodes.slowDown(r.deviceCodeHash, 10, 15, T0 + 9)).toBe(true);
      expect(await stores.deviceCodes.findByHash(r.deviceCodeHash)).toEqual({ ...r, intervalSec: 15, lastPollAt: T0 + 9 });
    });

    it('deleteExpired removes only requests expired before the time', async () => {
      const soon = code({ userCode: 'TTTTVVVV', expiresAt: T0 + MIN });
      const later = code({ userCode: 'WWWWXXXX', expiresAt: T0 + 20 * MIN });
      await stores.deviceCodes.create(soon);
      await stores.deviceCodes.create(later);
      expect(await stores.deviceCodes.deleteExpired(T0 + 2 * MIN)).toBe(1);
      expect(await stores.deviceCodes.findByHash(soon.deviceCodeHash)).toBeNull();
      expect(await stores.deviceCodes.findByHash(later.deviceCodeHash)).toEqual(later);
    });

    it('removing the client removes its requests', async () => {
      const r = code({ userCode: 'ZZZZBBBB' });
      await stores.deviceCodes.create(r);
      expect(await stores.clients.remove('tv-app')).toBe(true);
      expect(await stores.deviceCodes.findByHash(r.deviceCodeHash)).toBeNull();
    });

    if (options.rawBytes) {
      const rawBytes = options.rawBytes;
      it('stores no device code, only its hash', async () => {
        const deviceCode = `gdc_${'x'.repeat(20)}secretpart${Math.random().toString(36).slice(2)}`;
        await stores.deviceCodes.create(code({ userCode: 'BBBBCCCC', deviceCodeHash: hashSecret(deviceCode) }));
        expect((await rawBytes(stores)).includes(Buffer.from(deviceCode))).toBe(false);
      });
    }
  });
}
