import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../crypto/secrets.js';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import type { Stores } from '../stores/types.js';
import { ManualClock } from '../util/clock.js';
import { addClient, checkClientSpec, ClientRuleError, removeClient, rotateClientSecret, verifyClientSecret, type ClientSpec } from './clients.js';
import { generateClientSecret } from './token-formats.js';

const SCOPES = ['notes:read', 'notes:write'];
const HOUR = 60 * 60 * 1000;
const T0 = Date.UTC(2026, 0, 1);

const service = (over: Partial<ClientSpec> = {}): ClientSpec => ({
  clientId: 'billing',
  name: 'Billing',
  type: 'confidential',
  grants: ['client_credentials'],
  scopes: ['notes:read'],
  audiences: [],
  ...over,
});
const tv = (over: Partial<ClientSpec> = {}): ClientSpec => service({ clientId: 'tv', name: 'Living-room TV', type: 'public', grants: ['device_code', 'refresh_token'], ...over });

/** The message of the ClientRuleError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ClientRuleError);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

describe('client rules (checkClientSpec)', () => {
  it('accepts a public TV app and a confidential service, whose service defaults to its id', () => {
    expect(checkClientSpec(tv(), SCOPES)).toEqual({ clientId: 'tv', name: 'Living-room TV', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'], audiences: [], service: null });
    expect(checkClientSpec(service(), SCOPES).service).toBe('billing');
    expect(checkClientSpec(service({ service: 'billing-api' }), SCOPES).service).toBe('billing-api');
    // A confidential client with the device grant only is fine (a TV app that keeps a secret).
    expect(checkClientSpec(service({ grants: ['device_code'] }), SCOPES).grants).toEqual(['device_code']);
    expect(checkClientSpec(service({ grants: ['token-exchange', 'client_credentials'], audiences: ['notes', 'notes'] }), SCOPES).audiences).toEqual(['notes']);
  });

  it('refuses each bad input with a message that says what to do', () => {
    expect(refusal(() => checkClientSpec(service({ clientId: 'gatehouse' }), SCOPES))).toMatch(/built-in first-party client; it cannot be created or removed/);
    expect(refusal(() => checkClientSpec(service({ clientId: 'Billing App' }), SCOPES))).toMatch(/is not a client id: use 1 to 64 lowercase letters/);
    expect(refusal(() => checkClientSpec(service({ name: ' ' }), SCOPES))).toMatch(/1 to 100 characters/);
    expect(refusal(() => checkClientSpec(service({ name: 'a\u0007b' }), SCOPES))).toMatch(/no control characters/);
    expect(refusal(() => checkClientSpec(service({ type: 'secret' }), SCOPES))).toMatch(/must be "public" .* or "confidential"/);
    expect(refusal(() => checkClientSpec(service({ grants: [] }), SCOPES))).toMatch(/at least one grant/);
    expect(refusal(() => checkClientSpec(service({ grants: ['client_credential'] }), SCOPES))).toBe(
      'Unknown grant "client_credential" (did you mean "client_credentials"?); the grants are device_code, refresh_token, client_credentials, token-exchange.',
    );
    expect(refusal(() => checkClientSpec(service({ grants: ['password'] }), SCOPES))).toMatch(/^Unknown grant "password"; the grants are/);
    expect(refusal(() => checkClientSpec(tv({ grants: ['device_code', 'client_credentials'] }), SCOPES))).toMatch(/public client has no secret, so it cannot use client_credentials: register the service as --type confidential/);
    expect(refusal(() => checkClientSpec(tv({ grants: ['token-exchange'], audiences: ['notes'] }), SCOPES))).toMatch(/cannot use token-exchange/);
    expect(refusal(() => checkClientSpec(tv({ grants: ['refresh_token'] }), SCOPES))).toMatch(/refresh_token is only given with device_code/);
    expect(refusal(() => checkClientSpec(service({ scopes: [] }), SCOPES))).toMatch(/Name the scopes/);
    expect(refusal(() => checkClientSpec(service({ scopes: ['orders:read'] }), SCOPES))).toMatch(/Not a scope tokens may carry: "orders:read"\. Use scopes listed in the config key tokens\.defaultScopes/);
    expect(refusal(() => checkClientSpec(service({ scopes: ['account'] }), SCOPES))).toMatch(/never given to OAuth clients/);
    expect(refusal(() => checkClientSpec(service({ audiences: ['notes'] }), SCOPES))).toMatch(/add the token-exchange grant, or leave --audiences out/);
    expect(refusal(() => checkClientSpec(service({ grants: ['token-exchange'] }), SCOPES))).toMatch(/token-exchange grant needs --audiences/);
    expect(refusal(() => checkClientSpec(service({ grants: ['token-exchange'], audiences: ['a b'] }), SCOPES))).toMatch(/audience "a b" is not a service name/);
    expect(refusal(() => checkClientSpec(service({ grants: ['token-exchange'], audiences: ['auth'] }), SCOPES))).toMatch(/cannot be "auth"/);
    // A confidential client named "auth" would receive the auth service's passports.
    expect(refusal(() => checkClientSpec(service({ clientId: 'auth' }), SCOPES))).toMatch(/service \(the client id, by default\) cannot be "auth".*pass --service <name>/);
    expect(refusal(() => checkClientSpec(tv({ service: 'tv' }), SCOPES))).toMatch(/--service applies to confidential clients only/);
  });
});

describe('client registry operations and secrets', () => {
  let stores: Stores;
  const clock = new ManualClock(T0);
  beforeEach(async () => {
    stores = await openSqliteStores({ file: ':memory:', clock });
  });
  afterEach(async () => {
    await stores.close();
  });

  it('a confidential client gets a secret shown once and stored as its SHA-256 only; a public one none', async () => {
    const { client, secret } = await addClient(stores.clients, service(), SCOPES, T0);
    expect(secret).toMatch(/^ghc_[0-9A-Za-z]{49}$/);
    expect(client.secrets).toEqual([{ hash: hashSecret(secret!), createdAt: T0, notAfter: null }]);
    expect(JSON.stringify(await stores.clients.get('billing'))).not.toContain(secret!);
    expect(verifyClientSecret((await stores.clients.get('billing'))!, secret!, T0)).toBe(true);
    const pub = await addClient(stores.clients, tv(), SCOPES, T0);
    expect(pub.secret).toBeNull();
    expect(pub.client.secrets).toEqual([]);
  });

  it('refuses a taken id and the first-party id, and removing an unknown or the first-party client', async () => {
    await addClient(stores.clients, service(), SCOPES, T0);
    await expect(addClient(stores.clients, service({ name: 'Other' }), SCOPES, T0)).rejects.toThrow(/exists already: choose another id, or remove it first with "gatehouse clients remove billing"/);
    await expect(removeClient(stores.clients, 'gatehouse')).rejects.toThrow(/built-in first-party client/);
    await expect(removeClient(stores.clients, 'nobody')).rejects.toThrow(/No client "nobody"/);
    await removeClient(stores.clients, 'billing');
    expect(await stores.clients.list()).toEqual([]);
  });

  it('rotation: the old secret works until the overlap ends, then only the new one; a public client has nothing to rotate', async () => {
    const { secret: first } = await addClient(stores.clients, service(), SCOPES, T0);
    const r = await rotateClientSecret(stores.clients, 'billing', 24 * HOUR, T0 + HOUR);
    expect(r.secret).not.toBe(first);
    expect(r.previousValidUntil).toBe(T0 + 25 * HOUR);
    const client = (await stores.clients.get('billing'))!;
    expect(verifyClientSecret(client, first!, T0 + 25 * HOUR - 1)).toBe(true);
    expect(verifyClientSecret(client, r.secret, T0 + 25 * HOUR - 1)).toBe(true);
    expect(verifyClientSecret(client, first!, T0 + 25 * HOUR)).toBe(false);
    expect(verifyClientSecret(client, r.secret, T0 + 100 * HOUR)).toBe(true);

    // Overlap 0: the previous secret stops at once.
    const again = await rotateClientSecret(stores.clients, 'billing', 0, T0 + 2 * HOUR);
    expect(again.previousValidUntil).toBeNull();
    const now = (await stores.clients.get('billing'))!;
    expect(now.secrets).toHaveLength(1);
    expect(verifyClientSecret(now, r.secret, T0 + 2 * HOUR)).toBe(false);
    expect(verifyClientSecret(now, again.secret, T0 + 2 * HOUR)).toBe(true);

    await addClient(stores.clients, tv(), SCOPES, T0);
    await expect(rotateClientSecret(stores.clients, 'tv', 0, T0)).rejects.toThrow(/"tv" is a public client: it has no secret to rotate/);
    await expect(rotateClientSecret(stores.clients, 'nobody', 0, T0)).rejects.toThrow(/No client "nobody"/);
    await expect(rotateClientSecret(stores.clients, 'billing', 31 * 24 * HOUR, T0)).rejects.toThrow(/from 0 to 30 days/);
  });

  it('verifyClientSecret refuses another secret, a typo (checksum), an API-token-shaped value and any secret of a public client', async () => {
    const { secret } = await addClient(stores.clients, service(), SCOPES, T0);
    const client = (await stores.clients.get('billing'))!;
    expect(verifyClientSecret(client, generateClientSecret(), T0)).toBe(false);
    const typo = secret!.slice(0, 10) + (secret![10] === 'a' ? 'b' : 'a') + secret!.slice(11);
    expect(verifyClientSecret(client, typo, T0)).toBe(false);
    expect(verifyClientSecret(client, `gh_${secret!.slice(4)}`, T0)).toBe(false);
    expect(verifyClientSecret(client, '', T0)).toBe(false);
    // A public client never authenticates with a secret, even a stored one.
    expect(verifyClientSecret({ ...client, type: 'public' }, secret!, T0)).toBe(false);
  });
});
