import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt, TOTP_PERIOD_SEC } from './mfa/totp.js';
import { resetMfa } from './user-admin.js';
import { createAuthHarness, leakingBodies, passportFor, signin, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';

/**
 * Second factors (issue 17): TOTP enrolment and confirmation, the sign-in's second step
 * (POST /auth/signin/mfa) and the attacks on it: replay, brute force, the ticket reused, for
 * another user, expired, the second step skipped, a recovery code used twice.
 */
let h: AuthHarness;
const STEP_MS = TOTP_PERIOD_SEC * 1000;
beforeAll(async () => {
  h = await createAuthHarness();
  // Start on a step boundary, so each test knows which step its codes belong to.
  h.clock.set(Math.ceil(h.clock.now() / STEP_MS) * STEP_MS + 1000);
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

let n = 0;
interface Enrolled {
  username: string;
  secret: string;
  recoveryCodes: string[];
  session: SignedIn;
}

async function headersOf(s: SignedIn): Promise<Record<string, string>> {
  return { 'x-passport': await passportFor(h.deps, s) };
}

/** Signs up, signs in, enrols and confirms TOTP; the clock is then one step on (the confirming code's step is used). */
async function enrolled(prefix = 'mfa'): Promise<Enrolled> {
  const username = `${prefix}-${++n}`;
  expect((await signup(h.app, username)).statusCode).toBe(201);
  const session = await signinOk(h.app, { username, password: STRONG_PASSWORD });
  const headers = await headersOf(session);
  const enrol = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: { password: STRONG_PASSWORD } });
  expect(enrol.statusCode).toBe(200);
  const { secret, otpauth_uri, qr_svg } = enrol.json() as { secret: string; otpauth_uri: string; qr_svg: string };
  expect(otpauth_uri).toContain(`secret=${secret}`);
  expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\/Gatehouse:/);
  expect(qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  const confirm = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp/confirm', headers, payload: { code: totpCodeAt(secret, h.clock.now()) } });
  expect(confirm.statusCode).toBe(200);
  const recoveryCodes = (confirm.json() as { recovery_codes: string[] }).recovery_codes;
  expect(recoveryCodes).toHaveLength(10);
  h.clock.advance(STEP_MS);
  return { username, secret, recoveryCodes, session };
}

async function firstStep(username: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await signin(h.app, { username, password: STRONG_PASSWORD, ...extra });
  expect(res.statusCode).toBe(401);
  const body = res.json() as { code: string; mfa_ticket: string; factors: string[] };
  expect(body.code).toBe('mfa_required');
  return body.mfa_ticket;
}

function secondStep(body: Record<string, unknown>) {
  return h.app.inject({ method: 'POST', url: '/auth/signin/mfa', payload: body });
}

describe('TOTP enrolment', () => {
  it('asks for the current password, counts only once confirmed, and stores the secret encrypted', async () => {
    const username = `pending-${++n}`;
    expect((await signup(h.app, username)).statusCode).toBe(201);
    const s = await signinOk(h.app, { username, password: STRONG_PASSWORD });
    const headers = await headersOf(s);
    expect((await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: {} })).statusCode).toBe(400);
    const wrong = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: { password: 'not-the-password' } });
    expect(wrong.statusCode).toBe(401);
    const enrol = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: { password: STRONG_PASSWORD } });
    expect(enrol.statusCode).toBe(200);
    const { secret } = enrol.json() as { secret: string };
    const stored = await h.deps.stores.mfa.findTotp(s.userId);
    expect(stored?.secretJwe).not.toContain(secret);
    expect(stored?.confirmedAt).toBeNull();
    // Pending: sign-in still takes the password alone.
    expect((await signin(h.app, { username, password: STRONG_PASSWORD })).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: '/auth/mfa', headers })).json()).toEqual({ totp: { status: 'pending', confirmed_at: null }, recovery_codes_left: 0 });
    // A wrong first code does not confirm it.
    const bad = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp/confirm', headers, payload: { code: totpCodeAt(secret, h.clock.now() + 10 * STEP_MS) } });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().code).toBe('invalid_mfa_code');
    expect((await signin(h.app, { username, password: STRONG_PASSWORD })).statusCode).toBe(200);
    const ok = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp/confirm', headers, payload: { code: totpCodeAt(secret, h.clock.now()) } });
    expect(ok.statusCode).toBe(200);
    expect((await signin(h.app, { username, password: STRONG_PASSWORD })).json().code).toBe('mfa_required');
    // Enrolling again over a confirmed app is refused.
    expect((await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: { password: STRONG_PASSWORD } })).json().code).toBe('mfa_enrolled');
    const activity = (await h.deps.stores.audit.listByUser(s.userId, 20)).map((e) => e.type);
    expect(activity).toEqual(expect.arrayContaining(['mfa.totp_added', 'mfa.recovery_codes_generated']));
  });
});

describe('sign-in with a second factor', () => {
  it('a right password gives 401 mfa_required with a ticket and no session; the code finishes it with amr pwd+otp+mfa', async () => {
    const u = await enrolled();
    const res = await signin(h.app, { username: u.username, password: STRONG_PASSWORD });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'mfa_required', factors: ['totp', 'recovery_code'], expires_in: 300 });
    expect(res.cookies.map((c) => c.name)).not.toContain('gatehouse_session');
    const ticket = (res.json() as { mfa_ticket: string }).mfa_ticket;
    const done = await secondStep({ ticket, code: totpCodeAt(u.secret, h.clock.now()) });
    expect(done.statusCode).toBe(200);
    expect(done.cookies.map((c) => c.name)).toContain('gatehouse_session');
    const sid = (done.json() as { session: { id: string } }).session.id;
    expect(await h.deps.stores.sessions.findById(sid)).toMatchObject({ userId: u.session.userId });
  });

  it('replay: the same code (its time step) is accepted once, also with a fresh ticket, also within its window', async () => {
    const u = await enrolled();
    const code = totpCodeAt(u.secret, h.clock.now());
    expect((await secondStep({ ticket: await firstStep(u.username), code })).statusCode).toBe(200);
    const again = await secondStep({ ticket: await firstStep(u.username), code });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('invalid_mfa_code');
    // The previous step's code (still inside the ±1 window) is older than the step taken: refused too.
    expect((await secondStep({ ticket: await firstStep(u.username), code: totpCodeAt(u.secret, h.clock.now() - STEP_MS) })).statusCode).toBe(401);
    h.clock.advance(STEP_MS);
    expect((await secondStep({ ticket: await firstStep(u.username), code: totpCodeAt(u.secret, h.clock.now()) })).statusCode).toBe(200);
  });

  it('brute force: wrong codes count toward the same lock as passwords; then even the right code gets 429', async () => {
    const u = await enrolled();
    const ticket = await firstStep(u.username); // a right password gives its point back
    const right = totpCodeAt(u.secret, h.clock.now());
    const wrong = right === '000000' ? '111111' : '000000';
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) answers.push((await secondStep({ ticket, code: wrong })).statusCode);
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    const locked = await secondStep({ ticket, code: right });
    expect(locked.statusCode).toBe(429);
    // The password step is locked too: a right password cannot clear the count of wrong codes.
    expect((await signin(h.app, { username: u.username, password: STRONG_PASSWORD })).statusCode).toBe(429);
    expect((await h.deps.stores.audit.listByUser(u.session.userId, 50)).some((e) => e.type === 'signin.mfa_failure')).toBe(true);
  });

  it('a right password does not reset the count of wrong codes: a new ticket per guess still hits the lock', async () => {
    const u = await enrolled();
    const wrong = totpCodeAt(u.secret, h.clock.now()) === '000000' ? '111111' : '000000';
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await signin(h.app, { username: u.username, password: STRONG_PASSWORD });
      statuses.push(res.statusCode);
      if (res.statusCode !== 401) break;
      statuses.push((await secondStep({ ticket: (res.json() as { mfa_ticket: string }).mfa_ticket, code: wrong })).statusCode);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(10); // 5 tickets, 5 wrong codes
    expect(statuses.slice(-1)).toEqual([429]);
  });

  it('a ticket is single use: reused after a success it is refused', async () => {
    const u = await enrolled();
    const ticket = await firstStep(u.username);
    expect((await secondStep({ ticket, code: totpCodeAt(u.secret, h.clock.now()) })).statusCode).toBe(200);
    h.clock.advance(STEP_MS);
    const reuse = await secondStep({ ticket, code: totpCodeAt(u.secret, h.clock.now()) });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().code).toBe('invalid_mfa_ticket');
  });

  it("a ticket is for its user only: another user's valid code does not finish it", async () => {
    const alice = await enrolled('alice');
    const bob = await enrolled('bob');
    const ticket = await firstStep(alice.username);
    const res = await secondStep({ ticket, code: totpCodeAt(bob.secret, h.clock.now()) });
    // (the two secrets give the same code once in a million)
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_mfa_code');
    const bobsRecovery = await secondStep({ ticket, recovery_code: bob.recoveryCodes[0] });
    expect(bobsRecovery.statusCode).toBe(401);
  });

  it('a ticket expires after mfa.ticketTtlSec', async () => {
    const u = await enrolled();
    const ticket = await firstStep(u.username);
    h.clock.advance(h.deps.config.mfa.ticketTtlSec * 1000);
    const res = await secondStep({ ticket, code: totpCodeAt(u.secret, h.clock.now()) });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_mfa_ticket');
  });

  it('skipping the second step gives no session anywhere: no cookie, no token, an unknown ticket refused', async () => {
    const u = await enrolled();
    const first = await signin(h.app, { username: u.username, password: STRONG_PASSWORD, device_id: 'dev-skip' });
    expect(first.statusCode).toBe(401);
    expect(first.headers['set-cookie']).toBeUndefined();
    expect(await h.deps.stores.sessions.listByUser(u.session.userId)).toHaveLength(1); // only the one from before enrolment
    const grant = await h.app.inject({
      method: 'POST',
      url: '/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv-1' }).toString(),
    });
    expect(grant.statusCode).toBe(401);
    expect(grant.json()).toMatchObject({ error: 'mfa_required' });
    expect(grant.json()).not.toHaveProperty('access_token');
    expect((await secondStep({ ticket: 'made-up', code: totpCodeAt(u.secret, h.clock.now()) })).json().code).toBe('invalid_mfa_ticket');
    expect((await secondStep({ ticket: (first.json() as { mfa_ticket: string }).mfa_ticket })).statusCode).toBe(400);
    expect(await h.deps.stores.sessions.listByUser(u.session.userId)).toHaveLength(1);
  });

  it('a recovery code signs in once; regenerating replaces them all', async () => {
    const u = await enrolled();
    const [first, second] = u.recoveryCodes as [string, string];
    const ok = await secondStep({ ticket: await firstStep(u.username), recovery_code: first.toUpperCase() });
    expect(ok.statusCode).toBe(200);
    const again = await secondStep({ ticket: await firstStep(u.username), recovery_code: first });
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('invalid_mfa_code');
    const headers = await headersOf(u.session);
    expect((await h.app.inject({ method: 'GET', url: '/auth/mfa', headers })).json()).toMatchObject({ totp: { status: 'enabled' }, recovery_codes_left: 9 });
    const regen = await h.app.inject({ method: 'POST', url: '/auth/mfa/recovery-codes', headers, payload: { password: STRONG_PASSWORD } });
    expect(regen.statusCode).toBe(200);
    expect((regen.json() as { recovery_codes: string[] }).recovery_codes).toHaveLength(10);
    expect((await secondStep({ ticket: await firstStep(u.username), recovery_code: second })).statusCode).toBe(401);
  });

  it('removing the app asks for the password; then the password alone signs in', async () => {
    const u = await enrolled();
    const headers = await headersOf(u.session);
    expect((await h.app.inject({ method: 'DELETE', url: '/auth/mfa/totp', headers, payload: { password: 'wrong-password-here' } })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'DELETE', url: '/auth/mfa/totp', headers, payload: { password: STRONG_PASSWORD } })).statusCode).toBe(204);
    expect((await signin(h.app, { username: u.username, password: STRONG_PASSWORD })).statusCode).toBe(200);
    expect((await h.deps.stores.audit.listByUser(u.session.userId, 50)).some((e) => e.type === 'mfa.totp_removed')).toBe(true);
  });
});

describe('token endpoint: password grant, then the mfa-otp grant', () => {
  const token = (params: Record<string, string>) =>
    h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });

  it('answers 401 mfa_required with an mfa_token; the grant with a code gives tokens once; a browser ticket is refused there', async () => {
    const u = await enrolled('app');
    const first = await token({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'phone-1', scope: 'notes:read' });
    expect(first.statusCode).toBe(401);
    const body = first.json() as { error: string; mfa_token: string; factors: string[] };
    expect(body).toMatchObject({ error: 'mfa_required', factors: ['totp', 'recovery_code'] });
    const code = totpCodeAt(u.secret, h.clock.now());
    const done = await token({ grant_type: 'urn:gatehouse:params:oauth:grant-type:mfa-otp', mfa_token: body.mfa_token, otp: code });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ token_type: 'Bearer', scope: 'notes:read' });
    const again = await token({ grant_type: 'urn:gatehouse:params:oauth:grant-type:mfa-otp', mfa_token: body.mfa_token, otp: code });
    expect(again.statusCode).toBe(400);
    expect(again.json().error).toBe('invalid_grant');
    // A ticket of the browser sign-in does not finish a grant (nor the other way round).
    h.clock.advance(STEP_MS);
    const browserTicket = await firstStep(u.username);
    const cross = await token({ grant_type: 'urn:gatehouse:params:oauth:grant-type:mfa-otp', mfa_token: browserTicket, otp: totpCodeAt(u.secret, h.clock.now()) });
    expect(cross.json().error).toBe('invalid_grant');
    const first2 = await token({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'phone-2' });
    expect((await secondStep({ ticket: (first2.json() as { mfa_token: string }).mfa_token, code: totpCodeAt(u.secret, h.clock.now()) })).json().code).toBe('invalid_mfa_ticket');
  });
});

describe('gatehouse users mfa reset (support)', () => {
  it('removes the app, the recovery codes and the passkeys, records it, and the password alone signs in', async () => {
    const u = await enrolled('support');
    // A passkey too (stored as registration would): it would still ask for a second step.
    await h.deps.stores.webauthn.createCredential({ id: 'cred-support', userId: u.session.userId, publicKey: 'AAAA', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, name: 'Old phone', createdAt: h.clock.now(), lastUsedAt: null });
    const done = await resetMfa(h.deps, u.username.toUpperCase());
    expect(done).toMatchObject({ totp: true, recoveryCodes: 10, passkeys: 1 });
    expect(await h.deps.stores.mfa.findTotp(u.session.userId)).toBeNull();
    expect(await h.deps.stores.webauthn.listCredentials(u.session.userId)).toEqual([]);
    expect((await signin(h.app, { username: u.username, password: STRONG_PASSWORD })).statusCode).toBe(200);
    const removed = (await h.deps.stores.audit.listByUser(u.session.userId, 50)).find((e) => e.type === 'mfa.totp_removed');
    expect(removed?.detail).toMatchObject({ by: 'admin' });
    await expect(resetMfa(h.deps, 'nobody-here')).rejects.toMatchObject({ code: 'not_found' });
  });
});
