/**
 * The CredentialCache contract, run for every credential adapter (credential-cache.test.ts), as
 * the store contract suites run for every store backend: hits, misses, the negative cache,
 * in-flight sharing, revocation by credential / by user / by sign-out-all, the epoch, the stale
 * fallback while the store is away, the hot copy (written, read, malformed ones rejected) and
 * the touch throttle. Against real stores (SQLite, `createTestDeps`); an outage is the real
 * store's `getWithUser` answering StoreUnavailableError, as when its database is away.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTestDeps } from '../../../auth/test-helpers.js';
import type { Deps } from '../../../context.js';
import { hashSecret, randomId } from '../../../crypto/secrets.js';
import { GatehouseError, StoreUnavailableError } from '../../../errors/index.js';
import type { HotCache, HotCacheStats, HotCacheStatus, RevocationEvent, UserRecord } from '../../../stores/types.js';
import type { ManualClock } from '../../../util/clock.js';
import { RevocationSet } from '../../revocation-set.js';
import { CredentialCache, type CredentialAdapter, type CredentialEntry } from './credential-cache.js';
import type { DegradedReason } from './types.js';

/** A credential made in the real store for a test. */
export interface IssuedCredential {
  secret: string;
  tokenHash: string;
  /** As `adapter.idOf` names it (sid, token id). */
  id: string;
}

/** What the contract needs to know of one credential kind besides its adapter. */
export interface CredentialKit<E extends CredentialEntry, R> {
  readonly name: string;
  readonly adapter: CredentialAdapter<E, R>;
  /** Makes a credential of `user` in the store, at the clock's now; `expiresAt`: when it expires (clock ms). */
  issue(deps: Deps, user: UserRecord, options?: { expiresAt?: number }): Promise<IssuedCredential>;
  /** A well-formed secret the store does not know. */
  unknownSecret(): string;
  /** The event the auth service publishes when it ends the credential (it also deletes it: `remove`). */
  endEvent(cred: IssuedCredential, at: number, userId?: string): RevocationEvent;
  remove(deps: Deps, cred: IssuedCredential, user: UserRecord): Promise<void>;
  /** The store object whose `getWithUser` the adapter reads. */
  store(deps: Deps): { getWithUser(tokenHash: string): Promise<R | null> };
  /** The store method that records a use, spied on to count the writes, and what the store has as the last use. */
  touchMethod(deps: Deps): [object, string];
  storedLastUse(deps: Deps, cred: IssuedCredential): Promise<number | null>;
  /** Whether the touch throttle is kept across a re-read when the store's last use lags behind (`adapter.carry`). */
  readonly throttleOutlivesReRead: boolean;
  /** Whether a sign-out-all (`user` event with `sessions: true`) ends this kind (else it is re-read, and stays valid). */
  readonly endedBySignOutAll: boolean;
  /** The kind's own malformed variants of a valid hot copy (on top of the generic ones). */
  readonly malformedHotCopies: ReadonlyArray<(valid: Record<string, unknown>) => unknown>;
}

/** The shared hot copy as Redis keeps it (JSON, TTL by the test clock), in memory. */
export class MemoryHotCache implements HotCache {
  readonly kind = 'redis' as const;
  readonly values = new Map<string, { json: string; until: number }>();
  constructor(private readonly clock: ManualClock) {}
  get(key: string): Promise<unknown> {
    const v = this.values.get(key);
    return Promise.resolve(v === undefined || v.until <= this.clock.now() ? undefined : JSON.parse(v.json));
  }
  set(key: string, value: unknown, ttlMs: number): void {
    if (ttlMs >= 1) this.values.set(key, { json: JSON.stringify(value), until: this.clock.now() + ttlMs });
  }
  delete(key: string): void {
    this.values.delete(key);
  }
  /** The parsed value, for tests to look at and to corrupt. */
  peek(key: string): Record<string, unknown> | undefined {
    const v = this.values.get(key);
    return v === undefined ? undefined : (JSON.parse(v.json) as Record<string, unknown>);
  }
  put(key: string, value: unknown): void {
    this.values.set(key, { json: JSON.stringify(value), until: Number.POSITIVE_INFINITY });
  }
  status(): HotCacheStatus {
    return 'redis';
  }
  stats(): HotCacheStats {
    return { hits: 0, misses: 0, errors: 0 };
  }
  describe(): string {
    return 'memory';
  }
}

const isPromise = (v: unknown): v is Promise<unknown> => v instanceof Promise;

export function runCredentialCacheContract<E extends CredentialEntry, R>(kit: CredentialKit<E, R>): void {
  describe(`CredentialCache contract: ${kit.name}`, () => {
    let deps: Deps;
    let clock: ManualClock;
    let closeDeps: () => Promise<void>;
    /** Store reads (`getWithUser` calls), and whether the store is away. */
    const reads = { count: 0 };
    let storeDown = false;
    let hot: MemoryHotCache;
    let revocations: RevocationSet;
    const caches: Array<CredentialCache<E, R>> = [];
    let degraded: DegradedReason[];
    let dropped: string[];
    let ttlMs: number;
    let touchMs: number;
    let n = 0;

    beforeAll(async () => {
      ({ deps, clock, close: closeDeps } = await createTestDeps());
      ttlMs = deps.config.session.cacheTtlMs;
      touchMs = deps.config.session.touchIntervalSec * 1000;
      const store = kit.store(deps);
      const real = store.getWithUser.bind(store);
      store.getWithUser = (tokenHash) => {
        reads.count++;
        return storeDown ? Promise.reject(new StoreUnavailableError('test')) : real(tokenHash);
      };
    });
    afterAll(async () => {
      await closeDeps();
    });
    beforeEach(async () => {
      storeDown = false;
      degraded = [];
      dropped = [];
      hot = new MemoryHotCache(clock);
      revocations = new RevocationSet(deps);
      await revocations.whenReady();
    });
    afterEach(() => {
      for (const c of caches.splice(0)) c.close();
      revocations.close();
      vi.restoreAllMocks();
    });

    /** A cache as one gateway has it; `shared`: with the hot copy (scale-out). */
    function cache(options: { shared?: boolean } = {}): CredentialCache<E, R> {
      const d: Deps = { ...deps, hotCache: options.shared ? hot : undefined };
      const c = new CredentialCache(d, revocations, kit.adapter, (r) => degraded.push(r), (id) => dropped.push(id));
      caches.push(c);
      return c;
    }
    async function user(roles: string[] = []): Promise<UserRecord> {
      const now = clock.now();
      const u: UserRecord = { id: randomId(), username: `u${++n}-${randomId(4)}`, usernameCanonical: '', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', roles, createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
      u.usernameCanonical = u.username.toLowerCase();
      await deps.stores.users.create(u);
      return u;
    }
    /** The entry, awaited when the lookup is not a memory hit. */
    async function get(c: CredentialCache<E, R>, cred: IssuedCredential): Promise<E> {
      return c.get(cred.tokenHash, cred.secret);
    }
    /** The error a lookup is refused with (synchronous or not). */
    async function refusal(c: CredentialCache<E, R>, cred: IssuedCredential): Promise<GatehouseError> {
      try {
        await c.get(cred.tokenHash, cred.secret);
      } catch (err) {
        expect(err).toBeInstanceOf(GatehouseError);
        return err as GatehouseError;
      }
      throw new Error('expected a refusal');
    }
    const refusedCode = () => kit.adapter.refuse().code;
    const hotKey = (cred: IssuedCredential) => kit.adapter.hotPrefix + cred.tokenHash;

    it('a hit is synchronous, reads no store and is the same entry; the entry has the user without its password hash', async () => {
      const u = await user(['staff']);
      const cred = await kit.issue(deps, u);
      const c = cache();
      const before = reads.count;
      const first = c.get(cred.tokenHash, cred.secret);
      expect(isPromise(first)).toBe(true);
      const entry = await first;
      expect(reads.count).toBe(before + 1);
      expect(entry.tokenHash).toBe(cred.tokenHash);
      expect(kit.adapter.idOf(entry)).toBe(cred.id);
      expect(entry.user).toEqual({ id: u.id, username: u.username, roles: ['staff'] });
      expect(JSON.stringify(entry)).not.toContain(u.passwordHash);
      clock.advance(ttlMs - 1);
      const again = c.get(cred.tokenHash, cred.secret);
      expect(isPromise(again)).toBe(false);
      expect(again).toBe(entry);
      expect(reads.count).toBe(before + 1);
    });

    it('an entry older than the cache TTL is read again', async () => {
      const cred = await kit.issue(deps, await user());
      const c = cache();
      await get(c, cred);
      const before = reads.count;
      clock.advance(ttlMs);
      const next = c.get(cred.tokenHash, cred.secret);
      expect(isPromise(next)).toBe(true);
      await next;
      expect(reads.count).toBe(before + 1);
    });

    it('an unknown credential is refused after one store read, then from memory (negative cache)', async () => {
      const c = cache();
      const unknown = kit.unknownSecret();
      const cred = { secret: unknown, tokenHash: hashSecret(unknown), id: '' };
      const before = reads.count;
      expect((await refusal(c, cred)).code).toBe(refusedCode());
      expect(reads.count).toBe(before + 1);
      clock.advance(ttlMs * 10);
      expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
      expect(reads.count).toBe(before + 1);
    });

    it('concurrent lookups of a cold credential share one store read', async () => {
      const cred = await kit.issue(deps, await user());
      const c = cache();
      const before = reads.count;
      const entries = await Promise.all(Array.from({ length: 8 }, () => get(c, cred)));
      expect(reads.count).toBe(before + 1);
      for (const e of entries) expect(e).toBe(entries[0]);
    });

    it('an expired credential is refused, from memory', async () => {
      const cred = await kit.issue(deps, await user(), { expiresAt: clock.now() + 10_000 });
      const c = cache();
      await get(c, cred);
      clock.advance(10_000);
      const before = reads.count;
      expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
      expect(reads.count).toBe(before);
    });

    it('ended (revocation by credential): refused at once and from then on, even once its entry is old; onDrop told; the hot copy deleted', async () => {
      const u = await user();
      const cred = await kit.issue(deps, u);
      const c = cache({ shared: true });
      await get(c, cred);
      expect(hot.peek(hotKey(cred))).toBeDefined();
      revocations.record(kit.endEvent(cred, clock.now()));
      expect(dropped).toContain(cred.id);
      expect(hot.peek(hotKey(cred))).toBeUndefined();
      // Still in the store (the event came before the delete): refused all the same.
      const before = reads.count;
      expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
      await kit.remove(deps, cred, u);
      clock.advance(ttlMs * 2);
      expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
      expect(reads.count).toBe(before);
    });

    it('a store read that raced the end of the credential cannot bring it back', async () => {
      const cred = await kit.issue(deps, await user());
      const c = cache();
      const pending = get(c, cred);
      revocations.record(kit.endEvent(cred, clock.now()));
      await expect(pending).rejects.toMatchObject({ code: refusedCode() });
    });

    it('a pending revocation naming another user leaves the hot copy of the owner\'s credential', async () => {
      const cred = await kit.issue(deps, await user());
      const c = cache({ shared: true });
      await get(c, cred);
      revocations.record({ ...kit.endEvent(cred, clock.now(), 'someone-else'), pending: true } as RevocationEvent);
      expect(hot.peek(hotKey(cred))).toBeDefined();
      expect(await get(c, cred)).toBeDefined();
    });

    it('a user event (roles changed) drops the user\'s credentials: the next lookup reads the new roles', async () => {
      const u = await user(['admin']);
      const other = await user(['admin']);
      const cred = await kit.issue(deps, u);
      const otherCred = await kit.issue(deps, other);
      const c = cache({ shared: true });
      const stale = await get(c, cred);
      const kept = await get(c, otherCred);
      await deps.stores.users.setRoles(u.id, [], clock.now());
      revocations.record({ type: 'user', userId: u.id, notBefore: clock.now() - 1000, at: clock.now() });
      expect(hot.peek(hotKey(cred))).toBeUndefined();
      expect(hot.peek(hotKey(otherCred))).toBeDefined();
      const before = reads.count;
      const fresh = await get(c, cred);
      expect(reads.count).toBe(before + 1);
      expect(fresh).not.toBe(stale);
      expect(fresh.user.roles).toEqual([]);
      expect(c.get(otherCred.tokenHash, otherCred.secret)).toBe(kept);
    });

    it('sign-out-all taken while the store was away (user event, sessions: true)', async () => {
      const u = await user();
      const cred = await kit.issue(deps, u);
      const c = cache();
      await get(c, cred);
      clock.advance(1000);
      revocations.record({ type: 'user', userId: u.id, notBefore: clock.now(), at: clock.now(), sessions: true, pending: true });
      if (kit.endedBySignOutAll) {
        const before = reads.count;
        expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
        expect(reads.count).toBe(before);
      } else {
        expect((await get(c, cred)).tokenHash).toBe(cred.tokenHash);
      }
    });

    it('epoch: a read that straddles a revocation event is used once, not cached', async () => {
      const u = await user();
      const cred = await kit.issue(deps, u);
      const c = cache();
      const pending = c.get(cred.tokenHash, cred.secret);
      revocations.record({ type: 'user', userId: u.id, notBefore: clock.now() - 1000, at: clock.now() });
      expect((await pending).tokenHash).toBe(cred.tokenHash);
      const before = reads.count;
      const next = c.get(cred.tokenHash, cred.secret);
      expect(isPromise(next)).toBe(true);
      await next;
      expect(reads.count).toBe(before + 1);
      expect(isPromise(c.get(cred.tokenHash, cred.secret))).toBe(false);
    });

    it('store away: a cached credential is served from memory, the store asked again at most once a second; a cold one is 503', async () => {
      const cred = await kit.issue(deps, await user());
      const cold = await kit.issue(deps, await user());
      const c = cache();
      const entry = await get(c, cred);
      clock.advance(ttlMs);
      storeDown = true;
      const before = reads.count;
      expect(await get(c, cred)).toBe(entry);
      expect(degraded).toEqual([kit.adapter.degraded.fromMemory]);
      expect(reads.count).toBe(before + 1);
      clock.advance(999);
      expect(c.get(cred.tokenHash, cred.secret)).toBe(entry);
      expect(reads.count).toBe(before + 1);
      clock.advance(1);
      expect(await get(c, cred)).toBe(entry);
      expect(reads.count).toBe(before + 2);

      await expect(get(c, cold)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(degraded.at(-1)).toBe(kit.adapter.degraded.unavailable);
      // Revocations still arrive through the feed while the store is away.
      revocations.record(kit.endEvent(cred, clock.now()));
      expect(() => c.get(cred.tokenHash, cred.secret)).toThrow(GatehouseError);
    });

    it('hot copy: written on a store read, and another gateway serves it without a store read', async () => {
      const u = await user(['staff']);
      const cred = await kit.issue(deps, u);
      const a = cache({ shared: true });
      const entry = await get(a, cred);
      const copy = hot.peek(hotKey(cred));
      expect(copy).toMatchObject({ v: 1, w: clock.now() });
      expect(JSON.stringify(copy)).not.toContain(u.passwordHash);
      const b = cache({ shared: true });
      const before = reads.count;
      const fromHot = await get(b, cred);
      expect(reads.count).toBe(before);
      expect(fromHot).not.toBe(entry);
      expect(fromHot.user).toEqual(entry.user);
      expect(fromHot.stamp).toBe(entry.stamp);
      expect(fromHot.cacheKey).toBe(entry.cacheKey);
      expect(kit.adapter.idOf(fromHot)).toBe(cred.id);
    });

    it('hot copy: an old one is not trusted while the store answers, but serves while it is away', async () => {
      const cred = await kit.issue(deps, await user());
      await get(cache({ shared: true }), cred);
      clock.advance(ttlMs);
      const before = reads.count;
      await get(cache({ shared: true }), cred);
      expect(reads.count).toBe(before + 1);
      clock.advance(ttlMs);
      storeDown = true;
      const b = cache({ shared: true });
      expect((await get(b, cred)).tokenHash).toBe(cred.tokenHash);
      expect(degraded).toEqual([kit.adapter.degraded.fromHotCopy]);
      // Kept in memory for a second: neither the store nor the hot copy asked.
      expect(isPromise(b.get(cred.tokenHash, cred.secret))).toBe(false);
    });

    it('hot copy: malformed ones, or one of another credential, are rejected and the store read instead', async () => {
      const cred = await kit.issue(deps, await user());
      const other = await kit.issue(deps, await user());
      await get(cache({ shared: true }), cred);
      await get(cache({ shared: true }), other);
      const valid = hot.peek(hotKey(cred))!;
      const variants: unknown[] = [
        null,
        'garbage',
        42,
        { ...valid, v: 2 },
        { ...valid, w: 'yesterday' },
        { v: 1, w: clock.now() },
        hot.peek(hotKey(other)),
        ...kit.malformedHotCopies.map((f) => f(structuredClone(valid))),
      ];
      for (const [i, bad] of variants.entries()) {
        hot.put(hotKey(cred), bad);
        const before = reads.count;
        const entry = await get(cache({ shared: true }), cred);
        expect(reads.count, `variant ${i}`).toBe(before + 1);
        expect(entry.tokenHash).toBe(cred.tokenHash);
        expect(kit.adapter.idOf(entry)).toBe(cred.id);
        // Rewritten from the store.
        expect(hot.peek(hotKey(cred))).toMatchObject({ v: 1, w: clock.now() });
      }
    });

    it('touch: a use is recorded at most once per touch interval, and the throttle survives re-reads', async () => {
      const cred = await kit.issue(deps, await user());
      const [target, method] = kit.touchMethod(deps);
      const writes = vi.spyOn(target as Record<string, (...a: unknown[]) => Promise<void>>, method);
      const c = cache();
      clock.advance(touchMs);
      await get(c, cred);
      const t1 = clock.now();
      await vi.waitFor(async () => expect(await kit.storedLastUse(deps, cred)).toBe(t1));
      const after1 = writes.mock.calls.length;
      expect(after1).toBe(1);
      clock.advance(touchMs - 1); // longer than the cache TTL: re-read meanwhile
      await get(c, cred);
      expect(writes.mock.calls.length).toBe(after1);
      clock.advance(1);
      await get(c, cred);
      expect(writes.mock.calls.length).toBe(after1 + 1);
      await vi.waitFor(async () => expect(await kit.storedLastUse(deps, cred)).toBe(t1 + touchMs));
    });

    it('a failed touch write is never thrown to the request; whether the throttle outlives a re-read of the lagging store is the kind\'s', async () => {
      const cred = await kit.issue(deps, await user());
      const [target, method] = kit.touchMethod(deps);
      const writes = vi.spyOn(target as Record<string, (...a: unknown[]) => Promise<void>>, method).mockRejectedValue(new StoreUnavailableError('test'));
      const c = cache();
      clock.advance(touchMs);
      expect((await get(c, cred)).tokenHash).toBe(cred.tokenHash);
      expect(writes).toHaveBeenCalledTimes(1);
      // Re-read: the store still has the use before the failed write.
      clock.advance(ttlMs);
      await get(c, cred);
      expect(writes).toHaveBeenCalledTimes(kit.throttleOutlivesReRead ? 1 : 2);
    });
  });
}
