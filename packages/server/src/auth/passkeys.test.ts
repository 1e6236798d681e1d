import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthHarness, leakingBodies, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';
import { SoftAuthenticator, type Lies } from './webauthn/soft-authenticator.test-helpers.js';
import { relyingPartyOf } from './webauthn/relying-party.js';
import { DEFAULTS } from '../config/defaults.js';

/*
 * Issue 17, passkeys: registration with re-authentication, the list, rename and removal, and
 * the passwordless sign-in, with the attacks the verification must refuse (wrong origin, wrong
 * RP id, wrong or replayed challenge, counter regression) at the endpoints, with crafted answers.
 */

const ORIGIN = 'https://auth.example.com';
let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness({ publicUrl: `${ORIGIN}/` });
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

let n = 0;
async function account(): Promise<{ s: SignedIn; headers: Record<string, string> }> {
  const name = `pk-user-${++n}`;
  expect((await signup(h.app, name)).statusCode).toBe(201);
  const s = await signinOk(h.app, { username: name, password: STRONG_PASSWORD });
  return { s, headers: { 'x-passport': await passportFor(h.deps, s) } };
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, payload: payload as object, headers });

async function registered(lies: Lies = {}) {
  const a = await account();
  const auth = new SoftAuthenticator('auth.example.com', ORIGIN);
  const opts = await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, a.headers);
  expect(opts.statusCode, opts.body).toBe(200);
  const res = await post('/auth/passkeys', { name: 'My laptop', response: auth.register(opts.json(), lies) }, a.headers);
  return { ...a, auth, res };
}

async function signInWith(auth: SoftAuthenticator, lies: Lies = {}, reuse?: { challenge: string }) {
  const opts = reuse ?? (await post('/auth/signin/passkey/options', {})).json<{ challenge: string; allowCredentials?: unknown[]; userVerification?: string }>();
  return post('/auth/signin/passkey', { response: auth.assert(opts, lies) });
}

describe('relying party from the public URL', () => {
  it('a domain is its own RP id; loopback addresses use localhost; another IP address has no passkeys', () => {
    const rp = (publicUrl: string) => relyingPartyOf({ ...structuredClone(DEFAULTS), publicUrl });
    expect(rp('https://auth.example.com/')).toMatchObject({ ok: true, id: 'auth.example.com', origin: 'https://auth.example.com' });
    expect(rp('http://127.0.0.1:8080')).toMatchObject({ ok: true, id: 'localhost', origin: 'http://localhost:8080' });
    expect(rp('http://[::1]:8080')).toMatchObject({ ok: true, id: 'localhost', origin: 'http://localhost:8080' });
    expect(rp('http://localhost:3000')).toMatchObject({ ok: true, id: 'localhost', origin: 'http://localhost:3000' });
    expect(rp('https://10.0.0.5')).toMatchObject({ ok: false });
  });
});

describe('registering, listing, renaming, removing', () => {
  it('registration needs the current password; then the passkey is listed with its flags, renamed, and removed with the password; each change is in the activity log', async () => {
    const a = await account();
    expect((await post('/auth/passkeys/options', {}, a.headers)).json()).toMatchObject({ code: 'invalid_credentials' });
    expect((await post('/auth/passkeys/options', { password: 'wrong-password-1' }, a.headers)).statusCode).toBe(401);
    const opts = await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, a.headers);
    expect(opts.json()).toMatchObject({ rp: { id: 'auth.example.com' }, authenticatorSelection: { residentKey: 'required' } });
    const auth = new SoftAuthenticator('auth.example.com', ORIGIN);
    const res = await post('/auth/passkeys', { name: '  My laptop ', response: auth.register(opts.json()) }, a.headers);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toEqual({ id: auth.id, name: 'My laptop', created_at: expect.any(String), last_used_at: null, synced: true, backed_up: true });
    // The same answer again: its challenge is used.
    expect((await post('/auth/passkeys', { name: 'again', response: auth.register(opts.json()) }, a.headers)).json()).toMatchObject({ code: 'passkey_registration_failed' });

    const list = async () => (await h.app.inject({ method: 'GET', url: '/auth/passkeys', headers: a.headers })).json<{ passkeys: Array<{ id: string; name: string }> }>().passkeys;
    expect(await list()).toMatchObject([{ id: auth.id, name: 'My laptop' }]);
    const id = encodeURIComponent(auth.id);
    expect((await h.app.inject({ method: 'PATCH', url: `/auth/passkeys/${id}`, payload: { name: 'Work laptop' }, headers: a.headers })).statusCode).toBe(204);
    expect(await list()).toMatchObject([{ name: 'Work laptop' }]);
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/passkeys/${id}`, payload: {}, headers: a.headers })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/passkeys/${id}`, payload: { password: STRONG_PASSWORD }, headers: a.headers })).statusCode).toBe(204);
    expect(await list()).toEqual([]);
    const types = (await h.deps.stores.audit.listByUser(a.s.userId, 20)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['passkey.registered', 'passkey.renamed', 'passkey.removed']));
  });

  it('another user cannot rename or remove it, nor finish a registration with a challenge issued to someone else', async () => {
    const { auth, res } = await registered();
    expect(res.statusCode).toBe(201);
    const mallory = await account();
    const id = encodeURIComponent(auth.id);
    expect((await h.app.inject({ method: 'PATCH', url: `/auth/passkeys/${id}`, payload: { name: 'x' }, headers: mallory.headers })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/passkeys/${id}`, payload: { password: STRONG_PASSWORD }, headers: mallory.headers })).statusCode).toBe(404);

    const victim = await account();
    const opts = (await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, victim.headers)).json();
    const other = new SoftAuthenticator('auth.example.com', ORIGIN);
    expect((await post('/auth/passkeys', { name: 'x', response: other.register(opts) }, mallory.headers)).json()).toMatchObject({ code: 'passkey_registration_failed' });
  });

  it('a registration made for another origin or RP id is refused', async () => {
    expect((await registered({ origin: 'https://evil.example' })).res.json()).toMatchObject({ code: 'passkey_registration_failed' });
    expect((await registered({ rpId: 'evil.example' })).res.json()).toMatchObject({ code: 'passkey_registration_failed' });
  });
});

describe('passwordless sign-in', () => {
  it('signs in with the passkey alone: cookies, amr hwk+user+mfa, the counter and last use stored, audited', async () => {
    const { s, auth } = await registered();
    const opts = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string; allowCredentials?: unknown[]; userVerification: string; rpId: string }>();
    expect(opts.allowCredentials ?? []).toEqual([]);
    expect(opts).toMatchObject({ userVerification: 'required', rpId: 'auth.example.com' });
    const res = await signInWith(auth, {}, opts);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ user: { id: s.userId, username: s.username } });
    expect(res.cookies.map((c) => c.name)).toContain('__Host-gatehouse_session');
    const stored = await h.deps.stores.webauthn.findCredential(auth.id);
    expect(stored).toMatchObject({ counter: 1, lastUsedAt: h.clock.now() });
    const events = await h.deps.stores.audit.listByUser(s.userId, 5);
    expect(events[0]).toMatchObject({ type: 'signin.success', detail: { via: 'passkey', credential_id: auth.id } });
  });

  it('refuses a wrong origin, a wrong RP id, a wrong challenge, a replayed challenge, a counter that did not grow, no user verification, an unknown passkey: one 401, no cookie', async () => {
    const { auth } = await registered();
    const refused = async (res: Awaited<ReturnType<typeof signInWith>>) => {
      expect(res.statusCode, res.body).toBe(401);
      expect(res.json()).toMatchObject({ code: 'invalid_passkey' });
      expect(res.cookies).toEqual([]);
    };
    await refused(await signInWith(auth, { origin: 'https://evil.example' }));
    await refused(await signInWith(auth, { rpId: 'evil.example' }));
    await refused(await signInWith(auth, { challenge: 'aW52ZW50ZWQtY2hhbGxlbmdl' }));
    await refused(await signInWith(auth, { type: 'webauthn.create' }));
    await refused(await signInWith(auth, { userVerified: false }));
    // A good sign-in, then its challenge again (replay), then the counter going back (a clone).
    const opts = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
    expect((await signInWith(auth, {}, opts)).statusCode).toBe(200);
    await refused(await signInWith(auth, {}, opts));
    const counter = (await h.deps.stores.webauthn.findCredential(auth.id))!.counter;
    expect(counter).toBeGreaterThan(0);
    await refused(await signInWith(auth, { counter: counter - 1 }));
    await refused(await signInWith(auth, { counter }));
    expect((await h.deps.stores.webauthn.findCredential(auth.id))?.counter).toBe(counter);
    const stranger = new SoftAuthenticator('auth.example.com', ORIGIN);
    await refused(await signInWith(stranger));
    // The real one still works.
    expect((await signInWith(auth)).statusCode).toBe(200);
  });

  it('a removed passkey no longer signs in', async () => {
    const { auth, headers } = await registered();
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/passkeys/${encodeURIComponent(auth.id)}`, payload: { password: STRONG_PASSWORD }, headers })).statusCode).toBe(204);
    expect((await signInWith(auth)).json()).toMatchObject({ code: 'invalid_passkey' });
  });

  it('an expired challenge is refused', async () => {
    const { auth } = await registered();
    const opts = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
    h.clock.advance(5 * 60 * 1000 + 1);
    expect((await signInWith(auth, {}, opts)).statusCode).toBe(401);
  });
});

describe('at the default address http://127.0.0.1:<port>', () => {
  it('the RP id is localhost; a ceremony begun at 127.0.0.1 is told to open localhost', async () => {
    const local = await createAuthHarness();
    try {
      const res = await local.app.inject({ method: 'POST', url: '/auth/signin/passkey/options', payload: {}, headers: { origin: 'http://127.0.0.1:8080' } });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'passkeys_unavailable', detail: expect.stringContaining('http://localhost:8080') });
      const ok = await local.app.inject({ method: 'POST', url: '/auth/signin/passkey/options', payload: {}, headers: { origin: 'http://localhost:8080' } });
      expect(ok.json()).toMatchObject({ rpId: 'localhost' });
    } finally {
      await local.close();
    }
  });
});
