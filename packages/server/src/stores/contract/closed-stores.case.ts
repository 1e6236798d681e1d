import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../errors/index.js';
import type { MakeStores } from './fixtures.test-helpers.js';

/** What every backend's stores do once closed, run by every backend's test file. */
export function runClosedStoresContract(name: string, makeStores: MakeStores): void {
  describe(`Stores after close: ${name}`, () => {
    it('after close: not ready, and every call fails with StoreUnavailableError', async () => {
      const stores = await makeStores();
      await stores.close();
      await stores.close(); // idempotent
      expect(await stores.ready()).toEqual({
        users: false,
        sessions: false,
        keys: false,
        revocations: false,
        refreshTokens: false,
        apiTokens: false,
        clients: false,
        deviceCodes: false,
        identities: false,
        rateLimits: true,
        audit: false,
        mfa: false,
      });
      await expect(stores.users.findById('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.sessions.findByTokenHash('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.sessions.getWithUser('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.keys.list()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.revocations.since(0)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.refreshTokens.findByHash('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.refreshTokens.findWithSession('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.refreshTokens.rotate('x', { tokenHash: 'y', sessionId: 's', createdAt: 0, rotatedAt: null, clientId: null }, 0, 1)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.apiTokens.findByHash('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.identities.findBySubject('p', 'x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.apiTokens.getWithUser('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.clients.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.clients.list()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.deviceCodes.findByHash('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.audit.listByUser('x', 10)).rejects.toBeInstanceOf(StoreUnavailableError);
      // Issue 18: the admin API's searches, the quarantine check at sign-up, the email store.
      await expect(stores.users.search({ prefix: 'x' }, { limit: 10 })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.users.isQuarantined('x', 'x', 0)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.audit.query({}, { limit: 10, order: 'desc' })).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.emails.get('x')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.emails.usersWithVerifiedAddress('x@example.com', 5)).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
