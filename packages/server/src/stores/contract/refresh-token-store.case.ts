import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { RefreshTokenRecord, SessionRecord, Stores, UserRecord } from '../types.js';
import { makeSession, makeUser, T0, type MakeStores, type StoreContractOptions } from './fixtures.test-helpers.js';

/** The RefreshTokenStore contract, run by every backend's test file. */
export function runRefreshTokenStoreContract(name: string, makeStores: MakeStores, options: StoreContractOptions = {}): void {
  describe(`RefreshTokenStore contract: ${name}`, () => {
    let stores: Stores;
    let alice: UserRecord;
    let session: SessionRecord;
    beforeEach(async () => {
      stores = await makeStores();
      alice = makeUser();
      await stores.users.create(alice);
      session = makeSession(alice.id, { scope: 'notes:read notes:write' });
      await stores.sessions.createReplacingDevice(session);
    });
    afterEach(async () => {
      await stores.close();
    });

    let n = 0;
    const rt = (over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
      tokenHash: hashSecret(`refresh-${++n}-${Math.random()}`),
      sessionId: session.id,
      createdAt: T0,
      rotatedAt: null,
      clientId: null,
      ...over,
    });

    it('creates the first token of a family and finds it by hash, unchanged', async () => {
      const first = rt();
      expect(await stores.refreshTokens.create(first)).toBe(true);
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual(first);
      expect(await stores.refreshTokens.findByHash('unknown')).toBeNull();
      expect(await stores.refreshTokens.listBySession(session.id)).toEqual([first]);
    });

    it('create answers false and writes nothing when the session is gone', async () => {
      const orphan = rt({ sessionId: 'no-such-session' });
      expect(await stores.refreshTokens.create(orphan)).toBe(false);
      expect(await stores.refreshTokens.findByHash(orphan.tokenHash)).toBeNull();
    });

    it('the session keeps its scope', async () => {
      expect((await stores.sessions.findById(session.id))?.scope).toBe('notes:read notes:write');
    });

    it('rotate: current -> rotated (old marked, new inserted); again -> already_rotated; unknown -> unknown', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const second = rt({ createdAt: T0 + 5 });
      expect(await stores.refreshTokens.rotate(first.tokenHash, second, T0 + 5)).toBe('rotated');
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual({ ...first, rotatedAt: T0 + 5 });
      expect(await stores.refreshTokens.findByHash(second.tokenHash)).toEqual(second);
      // The same old token again: nothing changes, not even its rotation time.
      expect(await stores.refreshTokens.rotate(first.tokenHash, rt(), T0 + 9)).toBe('already_rotated');
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual({ ...first, rotatedAt: T0 + 5 });
      expect(await stores.refreshTokens.listBySession(session.id)).toHaveLength(2);
      expect(await stores.refreshTokens.rotate('unknown', rt(), T0 + 9)).toBe('unknown');
    });

    it('the new token joins the old token\'s session, whatever the record says', async () => {
      const other = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(other);
      const first = rt();
      await stores.refreshTokens.create(first);
      const next = rt({ sessionId: other.id });
      expect(await stores.refreshTokens.rotate(first.tokenHash, next, T0 + 1)).toBe('rotated');
      expect((await stores.refreshTokens.findByHash(next.tokenHash))?.sessionId).toBe(session.id);
    });

    it('a token issued to a client keeps it through rotation, whatever the successor record says', async () => {
      const first = rt({ clientId: 'tv-app' });
      await stores.refreshTokens.create(first);
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual(first);
      const second = rt({ createdAt: T0 + 5, clientId: null });
      expect(await stores.refreshTokens.rotate(first.tokenHash, second, T0 + 5)).toBe('rotated');
      expect((await stores.refreshTokens.findByHash(second.tokenHash))?.clientId).toBe('tv-app');
    });

    it('20 concurrent rotations of one token: exactly one rotated, one current token left', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const next = rt({ createdAt: T0 + 1 });
      const results = await Promise.all(Array.from({ length: 20 }, () => stores.refreshTokens.rotate(first.tokenHash, next, T0 + 1)));
      expect(results.filter((r) => r === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r === 'already_rotated')).toHaveLength(19);
      const family = await stores.refreshTokens.listBySession(session.id);
      expect(family.filter((t) => t.rotatedAt === null)).toEqual([next]);
    });

    it('ending the session deletes its refresh tokens; rotating one then answers unknown', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      await stores.sessions.delete(session.id);
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toBeNull();
      expect(await stores.refreshTokens.rotate(first.tokenHash, rt(), T0 + 1)).toBe('unknown');
      expect(await stores.refreshTokens.listBySession(session.id)).toEqual([]);
    });

    it('replacing the device session deletes the old family', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      await stores.sessions.createReplacingDevice(makeSession(alice.id, { deviceId: session.deviceId }));
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toBeNull();
    });

    it.skipIf(!options.reopen)('keeps refresh tokens across a restart', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      stores = await options.reopen!(stores);
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual(first);
    });

    it.skipIf(!options.rawBytes)('stores only the hash of the refresh token', async () => {
      const secret = 'ghr_s3cret-refresh-token-value';
      await stores.refreshTokens.create(rt({ tokenHash: hashSecret(secret) }));
      const raw = await options.rawBytes!(stores);
      expect(raw.includes(Buffer.from(hashSecret(secret)))).toBe(true);
      expect(raw.includes(Buffer.from('s3cret'))).toBe(false);
    });
  });
}
