import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthHarness, leakingBodies, passportFor, signin, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';
import { passkeyAuthenticationOptions } from './webauthn/ceremony.js';
import { SoftAuthenticator, type Lies } from './webauthn/soft-authenticator.test-helpers.js';

/*
 * Issue 17: a passkey as the second factor of a password sign-in (POST /auth/signin/mfa with a
 * passkey assertion for the ticket's user) and as a re-authentication proof (POST /auth/reauth
 * {passkey}), with the attacks: the ticket reused, another user's passkey, a challenge issued for
 * another user, wrong assertions spending the sign-in lock.
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

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, payload: payload as object, headers });

let n = 0;
interface WithPasskey {
  username: string;
  session: SignedIn;
  auth: SoftAuthenticator;
}

/** Signs up and in (the password alone), then registers a passkey on that session. */
async function withPasskey(prefix = 'pk2'): Promise<WithPasskey> {
  const username = `${prefix}-${++n}`;
  expect((await signup(h.app, username)).statusCode).toBe(201);
  const session = await signinOk(h.app, { username, password: STRONG_PASSWORD });
  const headers = { 'x-passport': await passportFor(h.deps, session) };
  const auth = new SoftAuthenticator('auth.example.com', ORIGIN);
  const opts = await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, headers);
  expect(opts.statusCode, opts.body).toBe(200);
  expect((await post('/auth/passkeys', { name: 'Laptop', response: auth.register(opts.json()) }, headers)).statusCode).toBe(201);
  return { username, session, auth };
}

async function firstStep(username: string): Promise<{ ticket: string; factors: string[] }> {
  const res = await signin(h.app, { username, password: STRONG_PASSWORD });
  expect(res.statusCode, res.body).toBe(401);
  const body = res.json<{ code: string; mfa_ticket: string; factors: string[] }>();
  expect(body.code).toBe('mfa_required');
  return { ticket: body.mfa_ticket, factors: body.factors };
}

async function optionsFor(ticket: string) {
  const res = await post('/auth/signin/mfa/passkey-options', { ticket });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ challenge: string; allowCredentials: Array<{ id: string }>; rpId: string }>();
}

const secondStep = (ticket: string, auth: SoftAuthenticator, opts: { challenge: string }, lies: Lies = {}) =>
  post('/auth/signin/mfa', { ticket, passkey: auth.assert(opts, lies) });

describe('a passkey as the second factor after a password', () => {
  it('a right password gives mfa_required listing passkey; options bound to the ticket; the assertion signs in with amr pwd hwk mfa', async () => {
    const u = await withPasskey();
    const { ticket, factors } = await firstStep(u.username);
    expect(factors).toEqual(['passkey']);
    const opts = await optionsFor(ticket);
    expect(opts.rpId).toBe('auth.example.com');
    expect(opts.allowCredentials.map((c) => c.id)).toEqual([u.auth.id]);
    const done = await secondStep(ticket, u.auth, opts);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.cookies.map((c) => c.name)).toContain('__Host-gatehouse_session');
    const sid = done.json<{ session: { id: string } }>().session.id;
    expect(await h.deps.stores.sessions.findById(sid)).toMatchObject({ userId: u.session.userId, amr: ['pwd', 'hwk', 'mfa'] });
    const events = await h.deps.stores.audit.listByUser(u.session.userId, 5);
    expect(events[0]).toMatchObject({ type: 'signin.success', detail: { via: 'signin', mfa: 'passkey' } });
  });

  it('the ticket is single use: after a success neither options nor a valid assertion reuse it', async () => {
    const u = await withPasskey();
    const { ticket } = await firstStep(u.username);
    expect((await secondStep(ticket, u.auth, await optionsFor(ticket))).statusCode).toBe(200);
    expect((await post('/auth/signin/mfa/passkey-options', { ticket })).json()).toMatchObject({ code: 'invalid_mfa_ticket' });
    // A challenge rightly bound to the user (as if fetched before the success): the ticket is still spent.
    const fresh = await passkeyAuthenticationOptions(h.deps, { userId: u.session.userId });
    const reuse = await secondStep(ticket, u.auth, fresh);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json()).toMatchObject({ code: 'invalid_mfa_ticket' });
  });

  it("another user's passkey is refused, whether it answers this ticket's challenge or its own; the ticket then still works for its user", async () => {
    const alice = await withPasskey('alice');
    const bob = await withPasskey('bob');
    const { ticket } = await firstStep(alice.username);
    // Bob's passkey answers the challenge issued for Alice's ticket.
    const stolen = await secondStep(ticket, bob.auth, await optionsFor(ticket));
    expect(stolen.statusCode).toBe(401);
    expect(stolen.json()).toMatchObject({ code: 'invalid_passkey' });
    expect(stolen.cookies).toEqual([]);
    // Bob's passkey answers a challenge issued for Bob (his own ticket), sent with Alice's ticket.
    const bobTicket = (await firstStep(bob.username)).ticket;
    const crossed = await secondStep(ticket, bob.auth, await optionsFor(bobTicket));
    expect(crossed.json()).toMatchObject({ code: 'invalid_passkey' });
    // A passwordless sign-in challenge (issued to nobody) does not finish a second step either.
    const unbound = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
    expect((await secondStep(ticket, alice.auth, unbound)).json()).toMatchObject({ code: 'invalid_passkey' });
    // Refusals do not take the ticket.
    expect((await secondStep(ticket, alice.auth, await optionsFor(ticket))).statusCode).toBe(200);
  });

  it('refused assertions count toward the same lock as wrong codes and passwords', async () => {
    const u = await withPasskey();
    const { ticket } = await firstStep(u.username);
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await secondStep(ticket, u.auth, await optionsFor(ticket), { origin: 'https://evil.example' })).statusCode);
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await secondStep(ticket, u.auth, await optionsFor(ticket))).statusCode).toBe(429);
    expect((await signin(h.app, { username: u.username, password: STRONG_PASSWORD })).statusCode).toBe(429);
    expect((await h.deps.stores.audit.listByUser(u.session.userId, 50)).some((e) => e.type === 'signin.mfa_failure' && e.detail?.factor === 'passkey')).toBe(true);
  });

  it('one proof only; an unknown ticket gets no options; a user without a passkey gets none either', async () => {
    const u = await withPasskey();
    const { ticket } = await firstStep(u.username);
    const opts = await optionsFor(ticket);
    expect((await post('/auth/signin/mfa', { ticket, code: '000000', passkey: u.auth.assert(opts) })).json()).toMatchObject({ code: 'invalid_request' });
    expect((await post('/auth/signin/mfa/passkey-options', { ticket: 'not-a-ticket' })).json()).toMatchObject({ code: 'invalid_mfa_ticket' });
    // Without a passkey the password alone signs in: no ticket to ask with.
    await signup(h.app, `plain-${++n}`);
    expect((await signin(h.app, { username: `plain-${n}`, password: STRONG_PASSWORD })).statusCode).toBe(200);
  });

  it('the password grant answers mfa_required listing passkey too: a passkey account is not signed in by its password alone', async () => {
    const u = await withPasskey();
    const res = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv-1' }).toString(),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'mfa_required', factors: ['passkey'] });
  });
});

describe('a passkey as a re-authentication proof', () => {
  const reauth = async (s: SignedIn, payload: Record<string, unknown>) => post('/auth/reauth', payload, { 'x-passport': await passportFor(h.deps, s) });
  const reauthOptions = async (s: SignedIn) => {
    const res = await post('/auth/reauth/passkey-options', {}, { 'x-passport': await passportFor(h.deps, s) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ challenge: string; allowCredentials: Array<{ id: string }> }>();
  };

  it('password + passkey steps the session up to pwd hwk mfa; a passkey with user verification alone to hwk user mfa', async () => {
    const u = await withPasskey();
    expect((await h.deps.stores.sessions.findById(u.session.sid))?.amr).toEqual(['pwd']);
    const opts = await reauthOptions(u.session);
    expect(opts.allowCredentials.map((c) => c.id)).toEqual([u.auth.id]);
    h.clock.advance(60_000);
    const res = await reauth(u.session, { password: STRONG_PASSWORD, passkey: u.auth.assert(opts, { userVerified: false }) });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ amr: ['pwd', 'hwk', 'mfa'], auth_time: new Date(h.clock.now()).toISOString() });
    expect(await h.deps.stores.sessions.findById(u.session.sid)).toMatchObject({ amr: ['pwd', 'hwk', 'mfa'], authTime: h.clock.now() });

    const alone = await reauth(u.session, { passkey: u.auth.assert(await reauthOptions(u.session)) });
    expect(alone.statusCode, alone.body).toBe(200);
    expect(alone.json().amr).toEqual(['hwk', 'user', 'mfa']);
  });

  it("another user's passkey, a replayed assertion and a challenge not issued to this user are refused; refusals share the password-change lock", async () => {
    const alice = await withPasskey('ra');
    const bob = await withPasskey('rb');
    const before = await h.deps.stores.sessions.findById(alice.session.sid);
    const stolen = await reauth(alice.session, { passkey: bob.auth.assert(await reauthOptions(alice.session)) });
    expect(stolen.statusCode).toBe(401);
    expect(stolen.json()).toMatchObject({ code: 'invalid_passkey' });
    expect((await reauth(alice.session, { passkey: bob.auth.assert(await reauthOptions(bob.session)) })).json()).toMatchObject({ code: 'invalid_passkey' });
    const ok = alice.auth.assert(await reauthOptions(alice.session));
    expect((await reauth(alice.session, { passkey: ok })).statusCode).toBe(200);
    expect((await reauth(alice.session, { passkey: ok })).json()).toMatchObject({ code: 'invalid_passkey' });
    const unbound = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
    expect((await reauth(alice.session, { passkey: alice.auth.assert(unbound) })).json()).toMatchObject({ code: 'invalid_passkey' });
    expect((await h.deps.stores.sessions.findById(alice.session.sid))?.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(before?.amr).toEqual(['pwd']);
    // Past signin.maxFailures refusals (wrong passwords count too): 429 even for a right assertion.
    for (let i = 0; i < h.deps.config.signin.maxFailures; i++) await reauth(bob.session, { password: `wrong-guess-${i}-xx` });
    expect((await reauth(bob.session, { passkey: bob.auth.assert(await reauthOptions(bob.session)) })).statusCode).toBe(429);
  });

  it('options need a passkey on the account', async () => {
    await signup(h.app, `nopk-${++n}`);
    const s = await signinOk(h.app, { username: `nopk-${n}`, password: STRONG_PASSWORD });
    expect((await post('/auth/reauth/passkey-options', {}, { 'x-passport': await passportFor(h.deps, s) })).json()).toMatchObject({ code: 'mfa_not_enrolled' });
  });
});
