import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCodeAt, TOTP_PERIOD_SEC } from './mfa/totp.js';
import { mintPassport, passportFor, createAuthHarness, signinOk, signup, STRONG_PASSWORD, leakingBodies, type AuthHarness, type SignedIn } from './test-helpers.js';

/*
 * Issue 17: POST /auth/reauth proves the user again on the same session (step-up). The session's
 * amr and auth_time change in place (same id and secret, no new cookie), a `session_auth` event
 * tells every gateway, the activity log records it, and wrong passwords share the password-change
 * lock.
 */

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

async function reauth(s: SignedIn, payload: Record<string, unknown>, passport?: string) {
  return h.app.inject({ method: 'POST', url: '/auth/reauth', headers: { 'x-passport': passport ?? (await passportFor(h.deps, s)) }, payload });
}

describe('sign-in records how', () => {
  it('a password sign-in records amr pwd and auth_time = the sign-in', async () => {
    await signup(h.app, 'amy');
    const s = await signinOk(h.app, { username: 'amy', password: STRONG_PASSWORD });
    const stored = await h.deps.stores.sessions.findById(s.sid);
    expect(stored).toMatchObject({ amr: ['pwd'], authTime: h.clock.now() });
  });
});

describe('POST /auth/reauth', () => {
  it('with the password: the same session gets auth_time now and amr pwd, no new cookie, a session_auth event and an activity entry', async () => {
    await signup(h.app, 'bea');
    const s = await signinOk(h.app, { username: 'bea', password: STRONG_PASSWORD });
    const before = (await h.deps.stores.sessions.findById(s.sid))!;
    h.clock.advance(3_600_000);
    h.events.length = 0;
    const res = await reauth(s, { password: STRONG_PASSWORD });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ amr: ['pwd'], auth_time: new Date(h.clock.now()).toISOString() });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    const after = await h.deps.stores.sessions.findById(s.sid);
    expect(after).toEqual({ ...before, amr: ['pwd'], authTime: h.clock.now() });
    expect(h.events).toEqual([{ type: 'session_auth', sid: s.sid, userId: s.userId, authTime: h.clock.now(), at: h.clock.now() }]);
    const activity = await h.deps.stores.audit.listByUser(s.userId, 10);
    expect(activity[0]).toMatchObject({ type: 'session.reauthenticated', detail: { sid: s.sid, amr: 'pwd' } });
  });

  it('a wrong password: 401 invalid_credentials, nothing changes; guesses share the password-change lock', async () => {
    await signup(h.app, 'cid');
    const s = await signinOk(h.app, { username: 'cid', password: STRONG_PASSWORD });
    const before = await h.deps.stores.sessions.findById(s.sid);
    h.clock.advance(60_000);
    h.events.length = 0;
    for (let i = 0; i < 3; i++) {
      const res = await reauth(s, { password: `wrong-guess-${i}-xx` });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_credentials');
    }
    for (let i = 0; i < 2; i++) {
      const res = await h.app.inject({ method: 'POST', url: '/auth/password', headers: { 'x-passport': await passportFor(h.deps, s) }, payload: { current_password: `wrong-${i}-again-x`, new_password: 'brand-new-lantern-77' } });
      expect(res.statusCode).toBe(401);
    }
    const locked = await reauth(s, { password: STRONG_PASSWORD });
    expect(locked.statusCode).toBe(429);
    expect(await h.deps.stores.sessions.findById(s.sid)).toEqual(before);
    expect(h.events).toEqual([]);
  });

  it('needs a session: an empty body is 400, a passport without a session is refused', async () => {
    await signup(h.app, 'dov');
    const s = await signinOk(h.app, { username: 'dov', password: STRONG_PASSWORD });
    expect((await reauth(s, {})).statusCode).toBe(400);
    const token = await mintPassport(h.deps, { sub: s.userId, username: s.username, roles: [], auth: 'api_token', scope: 'notes:read' });
    expect((await reauth(s, { password: STRONG_PASSWORD }, token)).statusCode).toBe(403);
  });

  it('an ended session: 401, nothing recorded', async () => {
    await signup(h.app, 'eli');
    const s = await signinOk(h.app, { username: 'eli', password: STRONG_PASSWORD });
    await h.deps.stores.sessions.delete(s.sid);
    h.events.length = 0;
    expect((await reauth(s, { password: STRONG_PASSWORD })).statusCode).toBe(401);
    expect(h.events).toEqual([]);
  });
});

describe('POST /auth/reauth with the authenticator app', () => {
  it('password + code: a session from before the app was set up steps up to pwd otp mfa; the code is taken once; wrong codes share the lock', async () => {
    await signup(h.app, 'otto');
    // Signed in with the password alone, then the app is set up on that session.
    const s = await signinOk(h.app, { username: 'otto', password: STRONG_PASSWORD });
    const headers = { 'x-passport': await passportFor(h.deps, s) };
    const enrol = await h.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers, payload: { password: STRONG_PASSWORD } });
    const { secret } = enrol.json() as { secret: string };
    expect((await h.app.inject({ method: 'POST', url: '/auth/mfa/totp/confirm', headers, payload: { code: totpCodeAt(secret, h.clock.now()) } })).statusCode).toBe(200);
    expect((await h.deps.stores.sessions.findById(s.sid))?.amr).toEqual(['pwd']);
    h.clock.advance(TOTP_PERIOD_SEC * 1000);

    const code = totpCodeAt(secret, h.clock.now());
    const res = await reauth(s, { password: STRONG_PASSWORD, code });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await h.deps.stores.sessions.findById(s.sid))?.amr).toEqual(['pwd', 'otp', 'mfa']);

    // The same code again (its time step is used): refused, nothing changes.
    const replay = await reauth(s, { password: STRONG_PASSWORD, code });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('invalid_mfa_code');

    // Wrong codes count toward the password-change lock: past signin.maxFailures, 429 even for a right code.
    h.clock.advance(TOTP_PERIOD_SEC * 1000);
    for (let i = 0; i < h.deps.config.signin.maxFailures; i++) await reauth(s, { code: '000000' === totpCodeAt(secret, h.clock.now()) ? '111111' : '000000' });
    const locked = await reauth(s, { code: totpCodeAt(secret, h.clock.now()) });
    expect(locked.statusCode).toBe(429);
  });
});
