/** The CredentialCache contract (credential-cache.case.ts), run for every credential adapter. */
import { hashSecret, randomId, randomSecret } from '../../../crypto/secrets.js';
import { generateApiToken } from '../../../credentials/token-formats.js';
import { apiTokenCredentials } from './api-token.js';
import { runCredentialCacheContract } from './credential-cache.case.js';
import { sessionCredentials } from './session-cookie.js';

const DAY = 24 * 3600 * 1000;

runCredentialCacheContract({
  name: 'session cookie',
  adapter: sessionCredentials,
  async issue(deps, user, options = {}) {
    const now = deps.clock.now();
    const secret = randomSecret();
    const session = {
      id: randomId(),
      tokenHash: hashSecret(secret),
      userId: user.id,
      deviceId: randomId(),
      deviceName: null,
      csrfToken: randomSecret(),
      persistent: true,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: options.expiresAt ?? now + 30 * DAY,
      absoluteExpiresAt: now + 90 * DAY,
      scope: null,
    };
    await deps.stores.sessions.createReplacingDevice(session);
    return { secret, tokenHash: session.tokenHash, id: session.id };
  },
  unknownSecret: () => randomSecret(),
  endEvent: (cred, at, userId) => ({ type: 'session', sid: cred.id, at, ...(userId === undefined ? {} : { userId }) }),
  async remove(deps, cred) {
    await deps.stores.sessions.delete(cred.id);
  },
  store: (deps) => deps.stores.sessions,
  touchMethod: (deps) => [deps.stores.sessions, 'touch'],
  storedLastUse: async (deps, cred) => (await deps.stores.sessions.findById(cred.id))?.lastSeenAt ?? null,
  endedBySignOutAll: true,
  // The re-read session's lastSeenAt is the store's: a failed sliding-expiry write is retried.
  throttleOutlivesReRead: false,
  malformedHotCopies: [
    (v) => ({ ...v, u: { ...(v.u as object), id: 'another-user' } }),
    (v) => ({ ...v, u: { ...(v.u as object), roles: [1] } }),
    (v) => ({ ...v, s: { ...(v.s as object), expiresAt: 'never' } }),
    (v) => ({ ...v, s: { ...(v.s as object), persistent: 'yes' } }),
    (v) => ({ ...v, s: null }),
  ],
});

runCredentialCacheContract({
  name: 'API token',
  adapter: apiTokenCredentials,
  async issue(deps, user, options = {}) {
    const secret = generateApiToken();
    const id = randomId();
    await deps.stores.apiTokens.create({
      id,
      userId: user.id,
      name: 'script',
      tokenHash: hashSecret(secret),
      scopes: ['notes:read'],
      createdAt: deps.clock.now(),
      expiresAt: options.expiresAt ?? null,
      lastUsedAt: null,
    });
    return { secret, tokenHash: hashSecret(secret), id };
  },
  unknownSecret: () => generateApiToken(),
  endEvent: (cred, at, userId) => ({ type: 'api_token', tokenId: cred.id, at, ...(userId === undefined ? {} : { userId }) }),
  async remove(deps, cred, user) {
    await deps.stores.apiTokens.delete(cred.id, user.id);
  },
  store: (deps) => deps.stores.apiTokens,
  touchMethod: (deps) => [deps.stores.apiTokens, 'touchLastUsed'],
  storedLastUse: async (deps, cred) => (await deps.stores.apiTokens.findByHash(cred.tokenHash))?.lastUsedAt ?? null,
  endedBySignOutAll: false,
  throttleOutlivesReRead: true,
  malformedHotCopies: [
    (v) => ({ ...v, t: { ...(v.t as object), scopes: 'notes:read' } }),
    (v) => ({ ...v, t: { ...(v.t as object), expiresAt: 'never' } }),
    (v) => ({ ...v, u: { ...(v.u as object), roles: 'admin' } }),
    (v) => ({ ...v, h: undefined }),
    (v) => ({ ...v, t: null }),
  ],
});
