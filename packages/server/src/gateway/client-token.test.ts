import { createPassportVerifier, isClientPassport, type PassportClaims } from '@gatehouse/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issuerOf } from '../config/issuer.js';
import { CLIENT_CREDENTIALS_GTY, issueAccessToken, issueClientAccessToken } from '../credentials/access-token.js';
import { addClient, clientRemoval, rotateClientSecret } from '../credentials/clients.js';
import { parseRevokedHeader } from '../credentials/revocation.js';
import { grantableScopes } from '../credentials/scope.js';
import { signJwt } from '../crypto/jwt.js';
import { randomId } from '../crypto/secrets.js';
import { isRevocationEvent, type UserRecord } from '../stores/types.js';
import { revocationEventKey } from '../stores/redis/redis-revocation-feed.js';
import { pendingField } from '../stores/redis/redis-pending-revocations.js';
import { createGatewayHarness, lastReceived, send, type GatewayHarness, type SignedIn } from './test-helpers.js';

/*
 * Service identity at the gateway (issue 14 §3): client-credentials tokens as the credential kind
 * `client`, the routes' `clients` list, and a removed client's tokens refused.
 */

const CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
let h: GatewayHarness;
let alice: SignedIn;
let staff: UserRecord;
/** Client-store reads (the hot path makes none). */
const reads = { clients: 0 };

const routes = (upstream: string) => [
  { path: '/api/orders', upstream, service: 'orders', auth: 'required' as const, clients: ['billing'], scopes: { GET: ['notes:read'], '*': ['notes:write'] } },
  { path: '/api/staff', upstream, service: 'staff', auth: 'required' as const, roles: ['staff'], clients: ['billing'] },
  { path: '/api/home', upstream, service: 'home', auth: 'required' as const },
  { path: '/api/maybe', upstream, service: 'maybe', auth: 'optional' as const },
];

async function newClient(id: string, scopes = ['notes:read']): Promise<void> {
  await addClient(h.deps.stores.clients, { clientId: id, name: id, type: 'confidential', grants: ['client_credentials'], scopes, audiences: [] }, grantableScopes(h.deps.config), h.clock.now());
}

async function clientToken(id: string, scope = 'notes:read'): Promise<string> {
  return (await issueClientAccessToken(h.deps, { clientId: id, scope })).token;
}

const bearer = (token: string): Array<[string, string]> => [['Authorization', `Bearer ${token}`]];

beforeAll(async () => {
  h = await createGatewayHarness({ routes, config: (c) => void (c.session.cacheTtlMs = 30_000) });
  alice = await h.signIn(await h.createUser('alice'));
  staff = await h.createUser('sam', ['staff']);
  const clients = h.deps.stores.clients;
  const get = clients.get.bind(clients);
  clients.get = (id) => {
    reads.clients++;
    return get(id);
  };
  await newClient('billing');
  await newClient('reports');
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.upstream.received.length = 0;
});

describe('a client token at the gateway', () => {
  it('reaches a route that names the client with a passport of auth "client": sub = client_id, no user', async () => {
    const token = await clientToken('billing');
    const res = await send(h.url, '/api/orders/1', { headers: bearer(token) });
    expect(res.status, res.body).toBe(200);
    const passport = lastReceived(h).headers['x-passport'] as string;
    const claims = await h.verifyPassport(passport, 'orders');
    expect(claims).toMatchObject({ sub: 'billing', client_id: 'billing', roles: [], scope: 'notes:read', auth: 'client' });
    for (const k of ['username', 'sid', 'did']) expect(claims, k).not.toHaveProperty(k);
    // The SDK accepts it and tells a service client from a user.
    const verifier = createPassportVerifier({ jwks: () => h.deps.keyring.jwks(), issuer: issuerOf(h.deps.config), audience: 'orders', now: () => h.clock.now() });
    const checked: PassportClaims = await verifier.verify(passport);
    expect(isClientPassport(checked)).toBe(true);
    expect(checked.auth === 'client' ? checked.client_id : checked.username).toBe('billing');
  });

  it('a route that does not name the client answers 403 forbidden naming the client, whatever else it allows', async () => {
    const token = await clientToken('reports');
    for (const path of ['/api/orders', '/api/staff', '/api/home', '/api/maybe']) {
      const res = await send(h.url, path, { headers: bearer(token) });
      expect(res.status, path).toBe(403);
      const body = JSON.parse(res.body) as { code: string; client_id: string; detail: string };
      expect(body.code).toBe('forbidden');
      expect(body.client_id).toBe('reports');
      expect(body.detail).toContain('"clients" list');
    }
    expect(h.upstream.received).toHaveLength(0);
  });

  it('roles do not apply to clients: a route with roles and clients lets in the role holders OR the named clients', async () => {
    expect((await send(h.url, '/api/staff', { headers: bearer(await clientToken('billing')) })).status).toBe(200);
    const { token: samToken } = await issueAccessToken(h.deps, { user: staff, session: (await h.signIn(staff)).session, scope: 'notes:read' });
    expect((await send(h.url, '/api/staff', { headers: bearer(samToken) })).status).toBe(200);
    const noRole = await send(h.url, '/api/staff', { headers: [['Cookie', alice.cookie]] });
    expect(noRole.status).toBe(403);
    expect(JSON.parse(noRole.body)).toMatchObject({ code: 'forbidden', required_role: 'staff' });
    // A user is never let in by the clients list, even one whose id equals a named client's.
    const lookalike = await h.createUser('billing');
    const lookalikeSession = await h.signIn(lookalike);
    const asUser = await send(h.url, '/api/staff', { headers: [['Cookie', lookalikeSession.cookie]] });
    expect(asUser.status).toBe(403);
  });

  it('scopes apply to clients: a token without the method\'s scope is 403 with the scope', async () => {
    const res = await send(h.url, '/api/orders', { method: 'POST', headers: [...bearer(await clientToken('billing')), ['Content-Type', 'application/json']], body: '{}' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'forbidden', required_scope: 'notes:write' });
  });

  it('the auth service\'s routes get the client passport and decide by their lanes (the gateway does not gate them)', async () => {
    const res = await send(h.url, '/auth/me', { headers: bearer(await clientToken('billing')) });
    expect(res.status).toBe(200);
    const claims = await h.verifyPassport(lastReceived(h, 'auth').headers['x-passport'] as string, 'auth');
    expect(claims).toMatchObject({ auth: 'client', sub: 'billing' });
  });

  it('a user\'s access token still gets a user passport; forged client marks are 401 invalid_token', async () => {
    const { token } = await issueAccessToken(h.deps, { user: alice.user, session: alice.session, scope: 'notes:read' });
    expect((await send(h.url, '/api/home', { headers: bearer(token) })).status).toBe(200);
    expect(await h.verifyPassport(lastReceived(h).headers['x-passport'] as string, 'home')).toMatchObject({ auth: 'access_token', username: 'alice' });

    h.upstream.received.length = 0;
    const iss = issuerOf(h.deps.config);
    const now = Math.floor(h.clock.now() / 1000);
    const base = { iss, aud: iss, sub: 'billing', client_id: 'billing', scope: 'notes:read', gty: CLIENT_CREDENTIALS_GTY, jti: randomId(), iat: now, exp: now + 600 };
    const sign = (claims: Record<string, unknown>) => signJwt(claims, { typ: 'at+jwt', key: h.deps.keyring.signingKey() });
    const forged = [
      // Another grant's mark.
      await sign({ ...base, gty: 'urn:example:other' }),
      // A client token that also claims a user's session.
      await sign({ ...base, sid: alice.session.id, did: 'd', username: 'alice', roles: ['admin'] }),
      // sub is another client than client_id (the route names billing; sub would make it reports, or the reverse).
      await sign({ ...base, sub: 'billing', client_id: 'reports' }),
      await sign({ ...base, sub: 'reports', client_id: 'billing' }),
      // Not our signature (a token of another key, same claims).
      `${(await clientToken('billing')).split('.').slice(0, 2).join('.')}.${Buffer.from('x'.repeat(64)).toString('base64url')}`,
    ];
    for (const [i, t] of forged.entries()) {
      const res = await send(h.url, '/api/orders', { headers: bearer(t) });
      expect(res.status, `forged #${i}`).toBe(401);
      expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    }
    expect(h.upstream.received).toHaveLength(0);
  });

  it('a client token revoked by jti (POST /auth/revoke) is 401 on the next request; the client\'s other tokens go on', async () => {
    const revoked = await issueClientAccessToken(h.deps, { clientId: 'billing', scope: 'notes:read' });
    const other = await clientToken('billing');
    expect((await send(h.url, '/api/orders', { headers: bearer(revoked.token) })).status).toBe(200);
    const exp = Math.floor(h.clock.now() / 1000) + h.deps.config.tokens.clientCredentialsTtlSec;
    await h.deps.feed.publish({ type: 'access_token', jti: revoked.jti, exp, at: h.clock.now() });
    expect((await send(h.url, '/api/orders', { headers: bearer(revoked.token) })).status).toBe(401);
    expect((await send(h.url, '/api/orders', { headers: bearer(other) })).status).toBe(200);
  });

  it('an expired client token is 401', async () => {
    const token = await clientToken('billing');
    h.clock.advance(h.deps.config.tokens.clientCredentialsTtlSec * 1000 + 10_000);
    const res = await send(h.url, '/api/orders', { headers: bearer(token) });
    expect(res.status).toBe(401);
  });

  it('the hot path makes no store call: the client is read once per session.cacheTtlMs', async () => {
    const token = await clientToken('billing');
    reads.clients = 0;
    for (let i = 0; i < 5; i++) expect((await send(h.url, '/api/orders', { headers: bearer(token) })).status).toBe(200);
    expect(reads.clients).toBeLessThanOrEqual(1);
    const after = reads.clients;
    for (let i = 0; i < 5; i++) expect((await send(h.url, '/api/orders', { headers: bearer(token) })).status).toBe(200);
    expect(reads.clients).toBe(after);
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect((await send(h.url, '/api/orders', { headers: bearer(token) })).status).toBe(200);
    expect(reads.clients).toBe(after + 1);
  });
});

describe('a removed client', () => {
  it('its revocation event refuses its tokens on the next request; a token issued after the removal\'s second is not refused by it', async () => {
    await newClient('ledger');
    const token = await clientToken('ledger');
    const billing = await clientToken('billing');
    // The gateway's routes name billing only; ledger is checked on /auth (not gated by the gateway).
    expect((await send(h.url, '/auth/me', { headers: bearer(token) })).status).toBe(200);
    const { event } = clientRemoval(h.deps.config, 'ledger', h.clock.now());
    await h.deps.feed.publish(event);
    const res = await send(h.url, '/auth/me', { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    // Only that client's tokens.
    expect((await send(h.url, '/api/orders', { headers: bearer(billing) })).status).toBe(200);
    // Issued in the same second as the removal: refused too; in a later second (a client added again): not by this event.
    expect((await send(h.url, '/auth/me', { headers: bearer(await clientToken('ledger')) })).status).toBe(401);
    h.clock.advance(1000);
    expect((await send(h.url, '/auth/me', { headers: bearer(await clientToken('ledger')) })).status).toBe(200);
  });

  it('removed from the store only (a CLI of a single-node gateway): refused within session.cacheTtlMs', async () => {
    await newClient('archive');
    const token = await clientToken('archive');
    expect((await send(h.url, '/auth/me', { headers: bearer(token) })).status).toBe(200);
    await h.deps.stores.clients.remove('archive');
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect((await send(h.url, '/auth/me', { headers: bearer(token) })).status).toBe(401);
  });

  it('a new client given the same id does not revive the old client\'s tokens', async () => {
    await newClient('payroll');
    const old = await clientToken('payroll');
    expect((await send(h.url, '/auth/me', { headers: bearer(old) })).status).toBe(200);
    await h.deps.stores.clients.remove('payroll');
    h.clock.advance(5_000);
    await newClient('payroll');
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect((await send(h.url, '/auth/me', { headers: bearer(old) })).status).toBe(401);
    expect((await send(h.url, '/auth/me', { headers: bearer(await clientToken('payroll')) })).status).toBe(200);
  });

  it('a rotated secret does not end the client\'s tokens (tokens are not tied to secrets)', async () => {
    const token = await clientToken('billing');
    await rotateClientSecret(h.deps.stores.clients, 'billing', 0, h.clock.now());
    h.clock.advance(h.deps.config.session.cacheTtlMs);
    expect((await send(h.url, '/api/orders', { headers: bearer(token) })).status).toBe(200);
  });

  it('the event parses from the auth service\'s header and the feed, with keys of its own', () => {
    const event = { type: 'client', clientId: 'billing', at: 1_700_000_000_000 } as const;
    expect(isRevocationEvent(event)).toBe(true);
    expect(isRevocationEvent({ type: 'client', at: 1 })).toBe(false);
    expect(isRevocationEvent({ type: 'client', clientId: '', at: 1 })).toBe(false);
    expect(parseRevokedHeader(JSON.stringify([event]))).toEqual([event]);
    expect(revocationEventKey(event)).not.toBe(revocationEventKey({ ...event, at: event.at + 1 }));
    expect(revocationEventKey({ ...event, pending: true })).not.toBe(revocationEventKey(event));
    expect(pendingField(event)).toBe(pendingField({ ...event, at: event.at + 5 }));
  });
});
