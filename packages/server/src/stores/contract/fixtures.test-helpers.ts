/** Builders shared by the store contract suites (no vitest import; excluded from the build). */
import { randomBytes } from 'node:crypto';
import type { ApiTokenRecord, ClientRecord, KeyRecord, SessionRecord, Stores, UserRecord } from '../types.js';

export const T0 = Date.UTC(2026, 0, 1);
export const DAY = 24 * 60 * 60 * 1000;

export interface StoreContractOptions {
  /** Closes `stores` and opens the same backend again (a restart). Omit to skip restart checks. */
  reopen?: (stores: Stores) => Promise<Stores>;
  /** Every byte the backend persisted (files, or a dump of all rows), to look for plaintext secrets. */
  rawBytes?: (stores: Stores) => Promise<Buffer>;
}

export type MakeStores = () => Promise<Stores>;

const rid = (): string => randomBytes(12).toString('base64url');

export function makeUser(over: Partial<UserRecord> = {}): UserRecord {
  const name = over.username ?? `user-${rid().toLowerCase()}`;
  return {
    id: rid(),
    username: name,
    usernameCanonical: name.toLowerCase(),
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA',
    roles: [],
    createdAt: T0,
    updatedAt: T0,
    disabledAt: null,
    passwordChangeRequired: false,
    ...over,
  };
}

export function makeSession(userId: string, over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: rid(),
    tokenHash: rid(),
    userId,
    deviceId: `dev-${rid()}`,
    deviceName: 'Firefox on Linux',
    csrfToken: rid(),
    persistent: true,
    createdAt: T0,
    lastSeenAt: T0,
    expiresAt: T0 + 30 * DAY,
    absoluteExpiresAt: T0 + 90 * DAY,
    scope: null,
    amr: ['pwd'],
    authTime: T0,
    ...over,
  };
}

export function makeKey(over: Partial<KeyRecord> = {}): KeyRecord {
  return {
    kid: rid(),
    alg: 'EdDSA',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: randomBytes(32).toString('base64url') },
    privateJwe: `eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..${rid()}.${rid()}.${rid()}`,
    createdAt: T0,
    activatesAt: T0,
    retiresAt: null,
    expiresAt: null,
    ...over,
  };
}

export function makeApiToken(userId: string, over: Partial<ApiTokenRecord> = {}): ApiTokenRecord {
  return {
    id: rid(),
    userId,
    name: 'deploy script',
    tokenHash: rid(),
    scopes: ['notes:read'],
    createdAt: T0,
    expiresAt: null,
    lastUsedAt: null,
    ...over,
  };
}

/** A confidential client with one secret (override `type`, `service` and `secrets` for a public one). */
export function makeClient(over: Partial<ClientRecord> = {}): ClientRecord {
  return {
    clientId: `client-${rid().toLowerCase().replace(/[^a-z0-9]/g, '0')}`,
    name: 'Billing service',
    type: 'confidential',
    grants: ['client_credentials', 'token-exchange'],
    scopes: ['notes:read', 'notes:write'],
    audiences: ['notes'],
    service: 'billing',
    secrets: [{ hash: rid(), createdAt: T0, notAfter: null }],
    createdAt: T0,
    updatedAt: T0,
    lastUsedAt: null,
    ...over,
  };
}

/** Fresh stores holding two users (the owner and a stranger), for the per-user contracts. */
export async function storesWithTwoUsers(makeStores: MakeStores): Promise<{ stores: Stores; alice: UserRecord; bob: UserRecord }> {
  const stores = await makeStores();
  const alice = makeUser();
  const bob = makeUser();
  await stores.users.create(alice);
  await stores.users.create(bob);
  return { stores, alice, bob };
}
