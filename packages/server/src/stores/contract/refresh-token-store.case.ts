import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import type { RefreshTokenRecord, SessionRecord, Stores, UserRecord } from '../types.js';
import { DAY, makeSession, makeUser, T0, type MakeStores, type StoreContractOptions } from './fixtures.test-helpers.js';

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

    it('findWithSession: the token, its session and the user without its password hash, in one answer', async () => {
      const first = rt({ clientId: 'tv-app' });
      await stores.refreshTokens.create(first);
      const { passwordHash: _hash, passwordChangeRequired: _p, ...summary } = alice;
      expect(await stores.refreshTokens.findWithSession(first.tokenHash)).toEqual({ token: first, session, user: summary });
      const found = await stores.refreshTokens.findWithSession(first.tokenHash);
      expect(found?.user).not.toHaveProperty('passwordHash');
      expect(await stores.refreshTokens.findWithSession('unknown')).toBeNull();
      // A rotated token is still found (the grace period and theft detection need it), with its rotation time.
      await stores.refreshTokens.rotate(first.tokenHash, rt(), T0 + 7);
      expect((await stores.refreshTokens.findWithSession(first.tokenHash))?.token).toEqual({ ...first, rotatedAt: T0 + 7 });
      // Its session ended: nothing.
      await stores.sessions.delete(session.id);
      expect(await stores.refreshTokens.findWithSession(first.tokenHash)).toBeNull();
    });

    it('findWithSession tells sessions and users apart: each token answers with its own', async () => {
      const bob = makeUser({ roles: ['admin'] });
      await stores.users.create(bob);
      const bobs = makeSession(bob.id, { deviceName: null, persistent: false, scope: null });
      await stores.sessions.createReplacingDevice(bobs);
      const a = rt();
      const b = rt({ sessionId: bobs.id, createdAt: T0 + 3 });
      await stores.refreshTokens.create(a);
      await stores.refreshTokens.create(b);
      expect(await stores.refreshTokens.findWithSession(b.tokenHash)).toEqual({ token: b, session: bobs, user: { id: bob.id, username: bob.username, usernameCanonical: bob.usernameCanonical, roles: ['admin'], createdAt: T0, updatedAt: T0, disabledAt: null } });
      expect((await stores.refreshTokens.findWithSession(a.tokenHash))?.session).toEqual(session);
    });

    it('rotate with a session expiry slides the session in the same call, never past its absolute expiry', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const second = rt({ createdAt: T0 + DAY });
      expect(await stores.refreshTokens.rotate(first.tokenHash, second, T0 + DAY, T0 + 31 * DAY)).toBe('rotated');
      expect(await stores.sessions.findById(session.id)).toEqual({ ...session, lastSeenAt: T0 + DAY, expiresAt: T0 + 31 * DAY });
      expect(await stores.refreshTokens.findByHash(second.tokenHash)).toEqual(second);
      const third = rt({ createdAt: T0 + 80 * DAY });
      expect(await stores.refreshTokens.rotate(second.tokenHash, third, T0 + 80 * DAY, T0 + 110 * DAY)).toBe('rotated');
      expect(await stores.sessions.findById(session.id)).toEqual({ ...session, lastSeenAt: T0 + 80 * DAY, expiresAt: session.absoluteExpiresAt });
    });

    it('rotate with a session expiry writes nothing when it does not rotate: already rotated, unknown, or another session\'s', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const second = rt({ createdAt: T0 + 5 });
      expect(await stores.refreshTokens.rotate(first.tokenHash, second, T0 + 5, T0 + 35 * DAY)).toBe('rotated');
      const slid = await stores.sessions.findById(session.id);
      expect(await stores.refreshTokens.rotate(first.tokenHash, rt(), T0 + 9, T0 + 60 * DAY)).toBe('already_rotated');
      expect(await stores.refreshTokens.rotate('unknown', rt(), T0 + 9, T0 + 60 * DAY)).toBe('unknown');
      expect(await stores.sessions.findById(session.id)).toEqual(slid);
      expect(await stores.refreshTokens.findByHash(first.tokenHash)).toEqual({ ...first, rotatedAt: T0 + 5 });
      expect(await stores.refreshTokens.listBySession(session.id)).toEqual([{ ...first, rotatedAt: T0 + 5 }, second]);
      // Another session of the same user is never slid by this family's rotation.
      const other = makeSession(alice.id);
      await stores.sessions.createReplacingDevice(other);
      expect(await stores.refreshTokens.rotate(second.tokenHash, rt(), T0 + 6, T0 + 36 * DAY)).toBe('rotated');
      expect(await stores.sessions.findById(other.id)).toEqual(other);
    });

    it('20 concurrent rotations of one token with the session slide: exactly one rotated, one successor, the session slid once', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const next = rt({ createdAt: T0 + 1 });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores.refreshTokens.rotate(first.tokenHash, i === 0 ? next : rt({ createdAt: T0 + 1 }), T0 + 1, T0 + 31 * DAY + i)));
      expect(results.filter((r) => r === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => r === 'already_rotated')).toHaveLength(19);
      const family = await stores.refreshTokens.listBySession(session.id);
      expect(family).toHaveLength(2);
      expect(family.filter((t) => t.rotatedAt === null)).toHaveLength(1);
      // The session carries the winner's expiry, and only the winner's.
      const winner = results.indexOf('rotated');
      expect(await stores.sessions.findById(session.id)).toEqual({ ...session, lastSeenAt: T0 + 1, expiresAt: T0 + 31 * DAY + winner });
    });

    it('the session ended before the rotation: unknown, nothing written', async () => {
      const first = rt();
      await stores.refreshTokens.create(first);
      const found = await stores.refreshTokens.findWithSession(first.tokenHash);
      expect(found?.session.id).toBe(session.id);
      await stores.sessions.delete(session.id);
      expect(await stores.refreshTokens.rotate(first.tokenHash, rt(), T0 + 1, T0 + 31 * DAY)).toBe('unknown');
      expect(await stores.sessions.findById(session.id)).toBeNull();
      expect(await stores.refreshTokens.listBySession(session.id)).toEqual([]);
    });

    it('the session ending while rotations run: each is rotated or unknown, and no token or session of it is left', async () => {
      const tokens = Array.from({ length: 8 }, () => rt());
      // Eight device sessions of one user, each with its token; every one ends while it rotates.
      const sessions = await Promise.all(
        tokens.map(async (t, i) => {
          const s = i === 0 ? session : makeSession(alice.id);
          if (i > 0) await stores.sessions.createReplacingDevice(s);
          t.sessionId = s.id;
          await stores.refreshTokens.create(t);
          return s;
        }),
      );
      const outcomes = await Promise.all(
        tokens.flatMap((t, i) => [stores.refreshTokens.rotate(t.tokenHash, rt({ sessionId: t.sessionId }), T0 + 1, T0 + 31 * DAY), stores.sessions.delete(sessions[i]!.id).then(() => 'deleted' as const)]),
      );
      for (const o of outcomes) expect(['rotated', 'unknown', 'deleted']).toContain(o);
      for (const s of sessions) {
        expect(await stores.sessions.findById(s.id)).toBeNull();
        expect(await stores.refreshTokens.listBySession(s.id)).toEqual([]);
      }
    });

    it('16 devices refreshing their own tokens at once, 30 times each: every refresh rotates, none fails', async () => {
      // Each device: its own user and session, one token in flight at a time, as devices refresh.
      const devices = await Promise.all(
        Array.from({ length: 16 }, async () => {
          const user = makeUser();
          await stores.users.create(user);
          const s = makeSession(user.id);
          await stores.sessions.createReplacingDevice(s);
          const first = rt({ sessionId: s.id });
          await stores.refreshTokens.create(first);
          return { session: s, current: first.tokenHash };
        }),
      );
      const failures: unknown[] = [];
      await Promise.all(
        devices.map(async (d) => {
          for (let round = 1; round <= 30; round++) {
            try {
              const found = await stores.refreshTokens.findWithSession(d.current);
              const next = rt({ sessionId: d.session.id, createdAt: T0 + round });
              const result = await stores.refreshTokens.rotate(d.current, next, T0 + round, T0 + 30 * DAY + round);
              if (found === null || result !== 'rotated') failures.push(`${found === null ? 'not found' : result} at round ${round}`);
              d.current = next.tokenHash;
            } catch (err) {
              failures.push(err);
            }
          }
        }),
      );
      expect(failures).toEqual([]);
      for (const d of devices) {
        expect((await stores.sessions.findById(d.session.id))?.expiresAt).toBe(T0 + 30 * DAY + 30);
        expect((await stores.refreshTokens.listBySession(d.session.id)).filter((t) => t.rotatedAt === null).map((t) => t.tokenHash)).toEqual([d.current]);
      }
    }, 30_000);

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
