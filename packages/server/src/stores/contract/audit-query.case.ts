import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditFilter, AuditPageKey, AuditPageRow, Stores, UserRecord } from '../types.js';
import { storesWithTwoUsers, T0, type MakeStores } from './fixtures.test-helpers.js';

function makeEvent(userId: string | null, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: randomBytes(12).toString('base64url'),
    userId,
    type: 'signin.success',
    at: T0,
    ip: '203.0.113.7',
    deviceId: 'dev-1',
    userAgent: 'Mozilla/5.0',
    detail: { sid: 'abc' },
    ...over,
  };
}

async function allPages(stores: Stores, filter: AuditFilter, limit: number, order: 'asc' | 'desc'): Promise<AuditPageRow[][]> {
  const pages: AuditPageRow[][] = [];
  let after: AuditPageKey | null = null;
  for (let n = 0; ; n++) {
    if (n > 50) throw new Error('the pages never end: a page repeats the cursor row');
    const page = await stores.audit.query(filter, { limit, order, after });
    if (page.length === 0) return pages;
    pages.push(page);
    after = page[page.length - 1]!.key;
  }
}

/** AuditStore.query (the admin API's audit log and export, issue 18), run by every backend's test file. */
export function runAuditQueryContract(name: string, makeStores: MakeStores): void {
  describe(`AuditStore query contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let bob: UserRecord;
    beforeEach(async () => {
      ({ stores, alice, bob } = await storesWithTwoUsers(makeStores));
    });
    afterEach(async () => {
      await stores.close();
    });

    it('pages every user\'s events newest first (ties: later appended first) or oldest first, with usernames', async () => {
      const events = [
        makeEvent(alice.id, { at: T0 + 1 }),
        makeEvent(bob.id, { at: T0 + 2 }),
        makeEvent(null, { at: T0 + 2, type: 'signin.failure' }),
        makeEvent(alice.id, { at: T0 + 2, type: 'signout' }),
        makeEvent(bob.id, { at: T0 + 3, detail: null, ip: null, deviceId: null, userAgent: null }),
      ];
      for (const e of events) await stores.audit.append(e);
      const desc = (await allPages(stores, {}, 2, 'desc')).flat();
      expect(desc.map((r) => r.event.id)).toEqual([events[4], events[3], events[2], events[1], events[0]].map((e) => e!.id));
      expect(desc[0]!.event).toEqual(events[4]);
      expect(desc.map((r) => r.username)).toEqual([bob.username, alice.username, null, bob.username, alice.username]);
      const asc = (await allPages(stores, {}, 3, 'asc')).flat();
      expect(asc.map((r) => r.event.id)).toEqual(events.map((e) => e.id));
    });

    it('is stable under concurrent inserts: no event that existed at the first page is repeated or skipped', async () => {
      const first = Array.from({ length: 9 }, (_, i) => makeEvent(alice.id, { at: T0 + i * 10 }));
      for (const e of first) await stores.audit.append(e);
      for (const order of ['desc', 'asc'] as const) {
        const page1 = await stores.audit.query({}, { limit: 4, order });
        // Between the pages: newer than all, older than all, in the middle, and tied with the cursor row.
        for (const at of [T0 + 10_000, T0 - 10_000, T0 + 45, page1[3]!.event.at]) await stores.audit.append(makeEvent(bob.id, { at }));
        const rest: AuditPageRow[] = [];
        let after = page1[3]!.key;
        for (let n = 0; ; n++) {
    if (n > 50) throw new Error('the pages never end: a page repeats the cursor row');
          const page = await stores.audit.query({}, { limit: 4, order, after });
          if (page.length === 0) break;
          rest.push(...page);
          after = page[page.length - 1]!.key;
        }
        const seen = [...page1, ...rest].map((r) => r.event.id);
        expect(new Set(seen).size, order).toBe(seen.length);
        for (const e of first) expect(seen.filter((id) => id === e.id), order).toHaveLength(1);
      }
    });

    it('narrows by time (from inclusive, to exclusive), user, types, ip and device', async () => {
      const e1 = makeEvent(alice.id, { at: T0 + 1, ip: '198.51.100.1', deviceId: 'd1' });
      const e2 = makeEvent(alice.id, { at: T0 + 2, type: 'signout', ip: '198.51.100.2', deviceId: 'd2' });
      const e3 = makeEvent(bob.id, { at: T0 + 3, ip: '198.51.100.1', deviceId: 'd2' });
      const e4 = makeEvent(null, { at: T0 + 4, type: 'signin.failure', ip: '198.51.100.1', deviceId: null });
      for (const e of [e1, e2, e3, e4]) await stores.audit.append(e);
      const ids = async (filter: AuditFilter) => (await stores.audit.query(filter, { limit: 50, order: 'asc' })).map((r) => r.event.id);
      expect(await ids({ from: T0 + 2, to: T0 + 4 })).toEqual([e2.id, e3.id]);
      expect(await ids({ userId: alice.id })).toEqual([e1.id, e2.id]);
      expect(await ids({ types: ['signin.success'] })).toEqual([e1.id, e3.id]);
      expect(await ids({ types: ['signout', 'signin.failure'] })).toEqual([e2.id, e4.id]);
      expect(await ids({ types: [] })).toEqual([]);
      expect(await ids({ ip: '198.51.100.1' })).toEqual([e1.id, e3.id, e4.id]);
      expect(await ids({ deviceId: 'd2', userId: bob.id })).toEqual([e3.id]);
      expect(await ids({ ip: '198.51.100.1', types: ['signin.success'], from: T0 + 2 })).toEqual([e3.id]);
    });
  });
}
