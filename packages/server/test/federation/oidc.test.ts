/**
 * The OIDC provider adapter (auth/federation/providers/oidc.ts) against real providers on
 * 127.0.0.1: `oidc-provider` for the flow and the attacks on it (state, nonce, code replay,
 * mix-up), a hostile node:http provider for forged ID tokens, and dead or slow ones for
 * timeouts. Each refusal also checks why (the log's cause), so it fails if a later check
 * happened to catch what the one under test should.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FederationProviderConfig } from '../../src/config/types.js';
import type { ProviderTransaction } from '../../src/auth/federation/identity.js';
import { OidcProvider } from '../../src/auth/federation/providers/oidc.js';
import { sealTransaction, unsealTransaction } from '../../src/auth/federation/transaction.js';
import { deriveFederationTransactionKey } from '../../src/auth/derived-keys.js';
import { systemClock } from '../../src/util/clock.js';
import { ALICE, freePort, refusal, startHostileProvider, startOidcProvider, type HostileProviderHandle, type OidcProviderHandle } from './oidc-provider.test-helpers.js';

const REDIRECT_A = 'http://127.0.0.1:8080/auth/federation/idp-a/callback';
const REDIRECT_B = 'http://127.0.0.1:8080/auth/federation/idp-b/callback';
const REDIRECT_H = 'http://127.0.0.1:8080/auth/federation/hostile/callback';

function adapter(id: string, issuer: string, clientId: string, clientSecret: string, timeoutMs = 2000): OidcProvider {
  const config: FederationProviderConfig = { id, type: 'oidc', name: `IdP ${id}`, issuer, clientId, scopes: ['openid', 'email', 'profile'], allowSignup: true, linkByVerifiedEmail: false };
  return new OidcProvider({ config, clientSecret, timeoutMs });
}
const forHandle = (id: string, h: { issuer: string; clientId: string; clientSecret: string }, timeoutMs?: number) => adapter(id, h.issuer, h.clientId, h.clientSecret, timeoutMs);

/** `callback` with its query parameters changed (null deletes one). */
function edited(callback: URL, changes: Record<string, string | null>): URL {
  const u = new URL(callback);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) u.searchParams.delete(k);
    else u.searchParams.set(k, v);
  }
  return u;
}

describe('OIDC provider adapter, against oidc-provider', () => {
  let a: OidcProviderHandle;
  let b: OidcProviderHandle;
  let idpA: OidcProvider;
  let idpB: OidcProvider;
  beforeAll(async () => {
    a = await startOidcProvider({ redirectUri: REDIRECT_A });
    b = await startOidcProvider({ redirectUri: REDIRECT_B });
    idpA = forHandle('idp-a', a);
    idpB = forHandle('idp-b', b);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  /** One sign-in at `idp` up to its callback: the transaction and the URL the provider sent the browser back to. */
  async function signedIn(idp: OidcProvider, handle: OidcProviderHandle, redirectUri: string): Promise<{ transaction: ProviderTransaction; callback: URL }> {
    const { url, transaction } = await idp.start({ redirectUri });
    return { transaction, callback: await handle.signIn(url) };
  }

  it('happy path: start asks for code + PKCE S256 + state + nonce; the login by HTTP comes back; finish returns the identity', async () => {
    const { url, transaction } = await idpA.start({ redirectUri: REDIRECT_A });
    const auth = new URL(url);
    expect(auth.origin).toBe(a.issuer);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      client_id: a.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_A,
      scope: 'openid email profile',
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge_method: 'S256',
    });
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('code_challenge')).not.toBe(transaction.codeVerifier);
    const callback = await a.signIn(url);
    expect(callback.href.startsWith(`${REDIRECT_A}?`)).toBe(true);
    expect(callback.searchParams.get('iss')).toBe(a.issuer);
    const identity = await idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction });
    expect(identity).toEqual({
      provider: 'idp-a',
      subject: ALICE.sub,
      email: ALICE.email,
      emailVerified: true,
      preferredUsername: ALICE.preferredUsername,
      displayName: ALICE.name,
    });
  });

  it('the callback may reach this instance by another URL (a proxy): the token request names the registered redirect URI', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    const internal = new URL(`http://10.0.0.7:9000/auth/federation/idp-a/callback${callback.search}`);
    await expect(idpA.finish({ callbackUrl: internal, redirectUri: REDIRECT_A, transaction })).resolves.toMatchObject({ subject: ALICE.sub });
  });

  it('scale-out: started on instance A, the callback finished on instance B (same master key, nothing shared but the cookie)', async () => {
    const masterKey = new Uint8Array(randomBytes(32));
    const instanceA = forHandle('idp-a', a);
    const instanceB = forHandle('idp-a', a);
    const { url, transaction } = await instanceA.start({ redirectUri: REDIRECT_A });
    const cookie = await sealTransaction(deriveFederationTransactionKey(masterKey), { provider: 'idp-a', transaction, next: '/account', mode: { kind: 'signin' } }, systemClock);
    const callback = await a.signIn(url);
    const opened = await unsealTransaction(deriveFederationTransactionKey(masterKey), cookie, instanceB, systemClock);
    expect(opened.next).toBe('/account');
    expect(await instanceB.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction: opened.transaction })).toMatchObject({ provider: 'idp-a', subject: ALICE.sub });
  });

  it('reads the email from the user info when the ID token has none', async () => {
    const redirect = 'http://127.0.0.1:8080/auth/federation/conform/callback';
    const c = await startOidcProvider({ redirectUri: redirect, conformIdTokenClaims: true });
    try {
      const idp = forHandle('conform', c);
      const { transaction, callback } = await signedIn(idp, c, redirect);
      expect(await idp.finish({ callbackUrl: callback, redirectUri: redirect, transaction })).toMatchObject({ subject: ALICE.sub, email: ALICE.email, emailVerified: true, preferredUsername: 'alice' });
    } finally {
      await c.close();
    }
  });

  it('missing state: refused', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    await refusal(idpA.finish({ callbackUrl: edited(callback, { state: null }), redirectUri: REDIRECT_A, transaction }), 'federation_failed', /state/);
  });

  it('wrong state: refused', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    await refusal(idpA.finish({ callbackUrl: edited(callback, { state: 'x'.repeat(43) }), redirectUri: REDIRECT_A, transaction }), 'federation_failed', /state/);
  });

  it('replayed state: the callback of an earlier sign-in is refused with a newer transaction', async () => {
    const first = await signedIn(idpA, a, REDIRECT_A);
    const second = await idpA.start({ redirectUri: REDIRECT_A });
    await refusal(idpA.finish({ callbackUrl: first.callback, redirectUri: REDIRECT_A, transaction: second.transaction }), 'federation_failed', /state/);
  });

  it('nonce mismatch: the ID token is refused', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    const other = { ...transaction, nonce: 'another-nonce-from-another-transaction' };
    await refusal(idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction: other }), 'federation_failed', /nonce/);
  });

  it('PKCE: a wrong code verifier is refused by the provider', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    const other = { ...transaction, codeVerifier: 'v'.repeat(43) };
    await refusal(idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction: other }), 'federation_failed', /invalid_grant/);
  });

  it('code replay: the second finish with the same code is refused', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    await expect(idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction })).resolves.toMatchObject({ subject: ALICE.sub });
    await refusal(idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction }), 'federation_failed', /invalid_grant/);
  });

  it('the user cancelling at the provider (error=access_denied) is refused with a message saying so', async () => {
    const { transaction } = await idpA.start({ redirectUri: REDIRECT_A });
    const callback = new URL(`${REDIRECT_A}?error=access_denied&state=${transaction.state}&iss=${encodeURIComponent(a.issuer)}`);
    const err = await refusal(idpA.finish({ callbackUrl: callback, redirectUri: REDIRECT_A, transaction }), 'federation_failed', /access_denied/);
    expect(err.detail).toMatch(/cancelled/);
  });

  it('mix-up (RFC 9207): provider B\'s response on provider A\'s callback is refused by its iss, before any code is redeemed', async () => {
    const { transaction } = await idpA.start({ redirectUri: REDIRECT_A });
    const atB = await signedIn(idpB, b, REDIRECT_B);
    // B's code and iss, made to look like A's callback (A's state): only the iss check stops it.
    const forged = new URL(`${REDIRECT_A}${edited(atB.callback, { state: transaction.state }).search}`);
    await refusal(idpA.finish({ callbackUrl: forged, redirectUri: REDIRECT_A, transaction }), 'federation_failed', /"iss"/);
    // B's code is still good at B: A never sent it anywhere.
    await expect(idpB.finish({ callbackUrl: atB.callback, redirectUri: REDIRECT_B, transaction: atB.transaction })).resolves.toMatchObject({ provider: 'idp-b' });
  });

  it('mix-up: a response without iss from a provider that advertises RFC 9207 is refused', async () => {
    const { transaction, callback } = await signedIn(idpA, a, REDIRECT_A);
    await refusal(idpA.finish({ callbackUrl: edited(callback, { iss: null }), redirectUri: REDIRECT_A, transaction }), 'federation_failed', /"iss"/);
  });
});

describe('OIDC provider adapter, forged ID tokens from a hostile provider', () => {
  let h: HostileProviderHandle;
  let idp: OidcProvider;
  beforeAll(async () => {
    h = await startHostileProvider();
    idp = forHandle('hostile', h);
  });
  afterAll(() => h.close());

  /** A sign-in whose token endpoint answers the ID token `craft(nonce)` makes. */
  async function finishWith(craft: (nonce: string) => Promise<string>) {
    const { transaction } = await idp.start({ redirectUri: REDIRECT_H });
    h.idToken = () => craft(transaction.nonce!);
    const callback = new URL(`${REDIRECT_H}?code=c-${Math.random()}&state=${transaction.state}`);
    return idp.finish({ callbackUrl: callback, redirectUri: REDIRECT_H, transaction });
  }

  it('control: a well-formed ID token from it is accepted (so each refusal below is the check under test)', async () => {
    await expect(finishWith((n) => h.sign(h.claims(n)))).resolves.toMatchObject({ provider: 'hostile', subject: 'hostile-user', email: 'mallory@example.com', emailVerified: true });
  });

  it('email_verified other than true (e.g. the string "true") is not a verified email', async () => {
    await expect(finishWith((n) => h.sign(h.claims(n, { email_verified: 'true' })))).resolves.toMatchObject({ emailVerified: false });
  });

  it.each([
    ['wrong iss', (n: string) => h.sign(h.claims(n, { iss: 'https://evil.example.com' })), /iss/],
    ['wrong aud', (n: string) => h.sign(h.claims(n, { aud: 'another-client' })), /aud/],
    ['several audiences without azp', (n: string) => h.sign(h.claims(n, { aud: [h.clientId, 'another-client'] })), /additional untrusted audiences/],
    ['several audiences, azp naming another client', (n: string) => h.sign(h.claims(n, { aud: [h.clientId, 'another-client'], azp: 'another-client' })), /"azp"/],
    ['one audience, azp naming another client', (n: string) => h.sign(h.claims(n, { azp: 'another-client' })), /azp/],
    ['expired', (n: string) => h.sign(h.claims(n, { iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 })), /exp|timestamp/],
    ['nonce of another sign-in', () => h.sign(h.claims('not-the-nonce')), /nonce/],
    ['alg none', (n: string) => h.sign(h.claims(n), 'none'), /alg|JWS|unsupported/i],
    ['HS256 with the provider\'s public key as the secret', (n: string) => h.sign(h.claims(n), 'hs256-public-key'), /alg|JWS|unsupported/i],
    ['signed by a key not in the provider\'s JWKS', (n: string) => h.sign(h.claims(n), 'other-key'), /signature/i],
  ])('%s: refused', async (_name, craft, why) => {
    await refusal(finishWith(craft), 'federation_failed', why);
  });
});

describe('OIDC provider adapter, a provider down or slow', () => {
  it('down at start: 503 with Retry-After at once; discovery is tried again on the next sign-in, so it works when the provider is back', async () => {
    const port = await freePort();
    const idp = adapter('late', `http://127.0.0.1:${port}`, 'hostile-client', 'hostile-secret');
    const t0 = Date.now();
    await refusal(idp.start({ redirectUri: REDIRECT_H }), 'federation_unavailable', /discovery/);
    expect(Date.now() - t0).toBeLessThan(1500);
    const h = await startHostileProvider({ port });
    try {
      const { url } = await idp.start({ redirectUri: REDIRECT_H });
      expect(new URL(url).origin).toBe(h.issuer);
    } finally {
      await h.close();
    }
  });

  it('slow discovery: 503 after federation.timeoutMs, no hang', async () => {
    const h = await startHostileProvider();
    try {
      h.delays.discovery = 10_000;
      const idp = forHandle('slow', h, 300);
      const t0 = Date.now();
      await refusal(idp.start({ redirectUri: REDIRECT_H }), 'federation_unavailable', /timed out|Timeout/i);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000);
    } finally {
      await h.close();
    }
  });

  it('slow token endpoint: 503 after federation.timeoutMs, no hang', async () => {
    const h = await startHostileProvider();
    try {
      const idp = forHandle('slow-token', h, 300);
      const { transaction } = await idp.start({ redirectUri: REDIRECT_H });
      h.delays.token = 10_000;
      h.idToken = () => h.sign(h.claims(transaction.nonce!));
      const t0 = Date.now();
      const callback = new URL(`${REDIRECT_H}?code=c1&state=${transaction.state}`);
      await refusal(idp.finish({ callbackUrl: callback, redirectUri: REDIRECT_H, transaction }), 'federation_unavailable', /token.*timed out/i);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(h.tokenRequests).toBe(1);
    } finally {
      await h.close();
    }
  });
});
