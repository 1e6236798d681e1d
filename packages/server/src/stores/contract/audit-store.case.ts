import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditEventType, Stores, UserRecord } from '../types.js';
import { type MakeStores, type StoreContractOptions, storesWithTwoUsers, T0 } from './fixtures.test-helpers.js';

function makeEvent(userId: string | null, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomBytes(12).toString('base64url'),
    userId,
    type: 'signin.success' as AuditEventType,
    at: T0,
    ip: '203.0.113.7',
    deviceId: 'dev-1',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    detail: { sid: 'abc', persistent: true, replaced: 0 },
    ...over,
  };
}

/** The AuditStore contract, run by every backend's test file. */
export function runAuditStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`AuditStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    it('appends events and lists only the user\'s, newest first, unchanged', async () => {
      const e1 = makeEvent(alice.id, { at: T0 + 1 });
      const e2 = makeEvent(alice.id, { at: T0 + 3, type: 'signin.failure', ip: null, deviceId: null, userAgent: null, detail: null });
      const e3 = makeEvent(bob.id, { at: T0 + 2 });
      const anonymous = makeEvent(null, { at: T0 + 4, type: 'signup' });
      for (const e of [e1, e2, e3, anonymous]) await stores.audit.append(e);
      expect(await stores.audit.listByUser(alice.id, 50)).toEqual([e2, e1]);
      expect(await stores.audit.listByUser(bob.id, 50)).toEqual([e3]);
      expect(await stores.audit.listByUser('nobody', 50)).toEqual([]);
    });

    it('keeps the detail types (string, number, boolean)', async () => {
      const e = makeEvent(alice.id, { detail: { reason: 'wrong_password', count: 3, known: false, zero: 0, empty: '' } });
      await stores.audit.append(e);
      expect((await stores.audit.listByUser(alice.id, 1))[0]?.detail).toEqual(e.detail);
    });

    it('limits the list, and lists events of the same time latest-appended first', async () => {
      const events = Array.from({ length: 7 }, () => makeEvent(alice.id, { at: T0 }));
      for (const e of events) await stores.audit.append(e);
      const listed = await stores.audit.listByUser(alice.id, 5);
      expect(listed.map((e) => e.id)).toEqual(events.slice(2).reverse().map((e) => e.id));
    });

    it('deleteOlderThan removes events strictly older and says how many', async () => {
      for (const at of [T0, T0 + 10, T0 + 20]) await stores.audit.append(makeEvent(alice.id, { at }));
      await stores.audit.append(makeEvent(null, { at: T0 + 5 }));
      expect(await stores.audit.deleteOlderThan(T0 + 10)).toBe(2);
      expect((await stores.audit.listByUser(alice.id, 50)).map((e) => e.at)).toEqual([T0 + 20, T0 + 10]);
      expect(await stores.audit.deleteOlderThan(T0 + 10)).toBe(0);
    });

    it('refuses an unknown event type', async () => {
      await expect(stores.audit.append(makeEvent(alice.id, { type: 'nonsense' as AuditEventType }))).rejects.toThrow();
    });

    it.skipIf(!options.reopen)('keeps events across a restart', async () => {
      const e = makeEvent(alice.id);
      await stores.audit.append(e);
      stores = await options.reopen!(stores);
      expect(await stores.audit.listByUser(alice.id, 10)).toEqual([e]);
    });
  });
}
