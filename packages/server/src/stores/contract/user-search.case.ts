import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stores, UserPageKey, UserRecord, UserSearch } from '../types.js';
import { makeUser, T0, type MakeStores } from './fixtures.test-helpers.js';

/** Every page of a search, following each page's last key. */
async function allPages(stores: Stores, filter: UserSearch, limit: number): Promise<UserRecord[][]> {
  const pages: UserRecord[][] = [];
  let after: UserPageKey | null = null;
  for (let n = 0; ; n++) {
    if (n > 50) throw new Error('the pages never end: a page repeats the cursor row');
    const page = await stores.users.search(filter, { limit, after });
    if (page.length === 0) return pages;
    pages.push(page);
    const last = page[page.length - 1]!;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** UserStore.search (the admin API's user list, issue 18), run by every backend's test file. */
export function runUserSearchContract(name: string, makeStores: MakeStores): void {
  describe(`UserStore search contract: ${name}`, () => {
    let stores: Stores;
    beforeEach(async () => {
      stores = await makeStores();
    });
    afterEach(async () => {
      await stores.close();
    });

    it('lists newest first by (createdAt, id), in keyset pages that together hold every user once', async () => {
      // Three users share one createdAt: the id breaks the tie.
      const users = [T0, T0 + 1, T0 + 1, T0 + 1, T0 + 2, T0 + 3, T0 + 5].map((at, i) => makeUser({ username: `page-${i}`, createdAt: at, updatedAt: at }));
      for (const u of users) await stores.users.create(u);
      const expected = [...users].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).map((u) => u.id);
      const pages = await allPages(stores, {}, 3);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      const flat = pages.flat();
      expect(flat.map((u) => u.id)).toEqual(expected);
      expect(flat[0]).toEqual(users[6]);
    });

    it('is stable under concurrent inserts: no user that existed at the first page is repeated or skipped', async () => {
      const first = Array.from({ length: 8 }, (_, i) => makeUser({ username: `stable-${i}`, createdAt: T0 + i * 10, updatedAt: T0 + i * 10 }));
      for (const u of first) await stores.users.create(u);
      const page1 = await stores.users.search({}, { limit: 3 });
      // Inserted between the pages: newer than everything, in the middle, and tied with the cursor row.
      const last = page1[2]!;
      for (const u of [
        makeUser({ username: 'stable-newest', createdAt: T0 + 1000 }),
        makeUser({ username: 'stable-middle', createdAt: T0 + 25 }),
        makeUser({ username: 'stable-tie', createdAt: last.createdAt }),
      ]) await stores.users.create(u);
      const rest: UserRecord[] = [];
      let after: UserPageKey = { createdAt: last.createdAt, id: last.id };
      for (let n = 0; ; n++) {
    if (n > 50) throw new Error('the pages never end: a page repeats the cursor row');
        const page = await stores.users.search({}, { limit: 3, after });
        if (page.length === 0) break;
        rest.push(...page);
        after = { createdAt: page[page.length - 1]!.createdAt, id: page[page.length - 1]!.id };
      }
      const seen = [...page1, ...rest].map((u) => u.id);
      expect(new Set(seen).size).toBe(seen.length);
      for (const u of first) expect(seen.filter((id) => id === u.id)).toHaveLength(1);
      expect(seen).not.toContain(undefined);
    });

    it('narrows by canonical-name prefix (LIKE characters taken literally), role and creation time', async () => {
      const a = makeUser({ username: 'ann_b', usernameCanonical: 'ann_b', roles: ['admin', 'staff'], createdAt: T0 + 1 });
      const b = makeUser({ username: 'annxb', usernameCanonical: 'annxb', roles: ['staff'], createdAt: T0 + 2 });
      const c = makeUser({ username: 'bob', usernameCanonical: 'bob', roles: ['admin_ro'], createdAt: T0 + 3 });
      const d = makeUser({ username: '100%', usernameCanonical: '100%', roles: [], createdAt: T0 + 4 });
      for (const u of [a, b, c, d]) await stores.users.create(u);
      await stores.users.setDisabled(b.id, T0 + 10, T0 + 10);
      const ids = async (filter: UserSearch) => (await stores.users.search(filter, { limit: 50 })).map((u) => u.username);
      expect(await ids({ prefix: 'ann' })).toEqual(['annxb', 'ann_b']);
      expect(await ids({ prefix: 'ann_' })).toEqual(['ann_b']);
      expect(await ids({ prefix: '100%' })).toEqual(['100%']);
      expect(await ids({ prefix: '10%' })).toEqual([]);
      expect(await ids({ role: 'admin' })).toEqual(['ann_b']);
      expect(await ids({ role: 'admin_ro' })).toEqual(['bob']);
      expect(await ids({ role: 'staff', prefix: 'annx' })).toEqual(['annxb']);
      expect(await ids({ createdAfter: T0 + 2, createdBefore: T0 + 4 })).toEqual(['bob', 'annxb']);
      expect(await ids({ role: 'nobody' })).toEqual([]);
      expect(await ids({ disabled: true })).toEqual(['annxb']);
      expect(await ids({ disabled: false, prefix: 'ann' })).toEqual(['ann_b']);
    });
  });
}
