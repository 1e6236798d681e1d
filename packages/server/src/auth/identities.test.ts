import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NO_PASSWORD, type UserRecord } from '../stores/types.js';
import { resolveIdentity } from './federation/accounts.js';
import { createAuthHarness, leakingBodies, mintPassport, signin, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

/*
 * Issue 15, the account half: password-less users (created through an identity provider) on
 * every password path, setting a first password, and the sign-in methods endpoints with the
 * last-way rule.
 */

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

let n = 0;
/** A user created by a first sign-in through provider "google" (no password). */
async function federatedUser(name: string): Promise<{ user: UserRecord; subject: string }> {
  const subject = `sub-${++n}`;
  const { user } = await resolveIdentity(
    { deps: h.deps, request: null },
    { provider: 'google', subject, email: `${name}@example.com`, emailVerified: true, preferredUsername: name, displayName: null },
    { allowSignup: true, linkByVerifiedEmail: false },
    { kind: 'signin' },
  );
  expect(user.username).toBe(name);
  return { user, subject };
}

async function as(user: UserRecord): Promise<Record<string, string>> {
  return { 'x-passport': await mintPassport(h.deps, { sub: user.id, username: user.username, roles: user.roles, sid: 'sid-x', did: 'dev-x' }) };
}

function tokenForm(params: Record<string, string>) {
  return h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
}

describe('a password-less user on every password path: refused exactly like a wrong password', () => {
  it('sign-in: the same 401 body as a wrong password, after one argon2 verification of the dummy hash, whatever is typed (the marker too)', async () => {
    await federatedUser('nopass-one');
    expect((await signup(h.app, 'haspass-one')).statusCode).toBe(201);
    const dummy = await h.auth.dummyHash;
    const spy = vi.spyOn(h.auth.hasher, 'verify');
    try {
      const wrong = await signin(h.app, { username: 'haspass-one', password: 'not-the-password-1' });
      expect(wrong.statusCode).toBe(401);
      for (const password of [NO_PASSWORD, STRONG_PASSWORD, 'x'.repeat(100)]) {
        const res = await signin(h.app, { username: 'nopass-one', password });
        expect(res.statusCode, password).toBe(401);
        expect(res.body).toBe(wrong.body);
        expect(res.cookies).toEqual([]);
      }
      const verified = spy.mock.calls.map((c) => c[0]);
      expect(verified[0]).not.toBe(dummy);
      expect(verified.slice(1)).toEqual([dummy, dummy, dummy]);
    } finally {
      spy.mockRestore();
    }
  });

  it('sign-in lockout counts the tries as failures, unchanged: the 6th is 429', async () => {
    await federatedUser('nopass-lock');
    for (let i = 0; i < 5; i++) expect((await signin(h.app, { username: 'nopass-lock', password: `guess-number-${i}` })).statusCode).toBe(401);
    const locked = await signin(h.app, { username: 'nopass-lock', password: 'guess-number-6' });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('rate_limited');
  });

  it('the password grant: invalid_grant, the same answer as a wrong password', async () => {
    await federatedUser('nopass-grant');
    expect((await signup(h.app, 'haspass-grant')).statusCode).toBe(201);
    const wrong = await tokenForm({ grant_type: 'password', username: 'haspass-grant', password: 'not-the-password-1', device_id: 'tv-1' });
    const none = await tokenForm({ grant_type: 'password', username: 'nopass-grant', password: NO_PASSWORD, device_id: 'tv-1' });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toEqual(wrong.json());
    expect(none.json().error).toBe('invalid_grant');
  });

  it('password change: the current password is "wrong", whatever is typed, and nothing changes', async () => {
    const { user } = await federatedUser('nopass-change');
    for (const current of [NO_PASSWORD, STRONG_PASSWORD]) {
      const res = await h.app.inject({ method: 'POST', url: '/auth/password', headers: await as(user), payload: { current_password: current, new_password: 'brand-new-lantern-77' } });
      expect(res.statusCode).toBe(401);
      expect(res.json().code).toBe('invalid_credentials');
    }
    expect((await h.deps.stores.users.findById(user.id))!.passwordHash).toBe(NO_PASSWORD);
  });
});

describe('POST /auth/password/set', () => {
  it('sets a first password under the sign-up policy, logs it, and then the user can sign in with it', async () => {
    const { user } = await federatedUser('nopass-set');
    const headers = await as(user);
    const weak = await h.app.inject({ method: 'POST', url: '/auth/password/set', headers, payload: { new_password: 'password1' } });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('weak_password');
    const same = await h.app.inject({ method: 'POST', url: '/auth/password/set', headers, payload: { new_password: 'nopass-set' } });
    expect(same.json().code).toBe('weak_password');
    expect((await h.deps.stores.users.findById(user.id))!.passwordHash).toBe(NO_PASSWORD);

    const ok = await h.app.inject({ method: 'POST', url: '/auth/password/set', headers, payload: { new_password: STRONG_PASSWORD } });
    expect(ok.statusCode).toBe(204);
    expect((await signin(h.app, { username: 'nopass-set', password: STRONG_PASSWORD })).statusCode).toBe(200);
    const events = await h.deps.stores.audit.listByUser(user.id, 10);
    expect(events.some((e) => e.type === 'password.set' && e.deviceId === 'dev-x')).toBe(true);

    const again = await h.app.inject({ method: 'POST', url: '/auth/password/set', headers, payload: { new_password: 'another-lantern-78' } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'password_exists', detail: expect.stringContaining('POST /auth/password') });
    expect((await signin(h.app, { username: 'nopass-set', password: STRONG_PASSWORD })).statusCode).toBe(200);
  });

  it('refuses an account that has a password (409 password_exists): it is no way around the current-password check', async () => {
    expect((await signup(h.app, 'haspass-set')).statusCode).toBe(201);
    const user = (await h.deps.stores.users.findByCanonical('haspass-set'))!;
    const res = await h.app.inject({ method: 'POST', url: '/auth/password/set', headers: await as(user), payload: { new_password: 'another-lantern-78' } });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('password_exists');
    expect((await signin(h.app, { username: 'haspass-set', password: STRONG_PASSWORD })).statusCode).toBe(200);
  });
});

describe('GET /auth/identities and DELETE /auth/identities/:provider/:subject (the last-way rule)', () => {
  it('lists the sign-in methods; the last one cannot be removed (409), another can, and after setting a password the last can too', async () => {
    const { user, subject } = await federatedUser('methods-one');
    const headers = await as(user);
    const list = async () => (await h.app.inject({ method: 'GET', url: '/auth/identities', headers })).json() as { has_password: boolean; identities: Array<Record<string, unknown>> };
    expect(await list()).toEqual({
      has_password: false,
      identities: [{ provider: 'google', provider_name: null, subject, email: 'methods-one@example.com', linked_at: expect.any(String), last_used_at: expect.any(String), removable: false }],
    });

    const last = await h.app.inject({ method: 'DELETE', url: `/auth/identities/google/${subject}`, headers });
    expect(last.statusCode).toBe(409);
    expect(last.json()).toMatchObject({ code: 'last_sign_in_method', detail: expect.stringContaining('Set a password') });
    expect(await h.deps.stores.identities.listForUser(user.id)).toHaveLength(1);

    // A second provider: either may go, not both.
    await resolveIdentity({ deps: h.deps, request: null }, { provider: 'github', subject: 'gh|7', email: null, emailVerified: false, preferredUsername: null, displayName: null }, { allowSignup: false, linkByVerifiedEmail: false }, { kind: 'link', userId: user.id });
    expect((await list()).identities.map((i) => i.removable)).toEqual([true, true]);
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/identities/github/${encodeURIComponent('gh|7')}`, headers })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/identities/google/${subject}`, headers })).statusCode).toBe(409);

    expect((await h.app.inject({ method: 'POST', url: '/auth/password/set', headers, payload: { new_password: STRONG_PASSWORD } })).statusCode).toBe(204);
    expect(await list()).toMatchObject({ has_password: true, identities: [{ provider: 'google', removable: true }] });
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/identities/google/${subject}`, headers })).statusCode).toBe(204);
    expect(await list()).toEqual({ has_password: true, identities: [] });
    const types = (await h.deps.stores.audit.listByUser(user.id, 20)).filter((e) => e.type === 'identity.unlinked').map((e) => e.detail);
    expect(types).toEqual([{ provider: 'google' }, { provider: 'github' }]);
  });

  it("another user's identity, or an unknown one: 404, nothing removed", async () => {
    const owner = await federatedUser('methods-owner');
    expect((await signup(h.app, 'methods-other')).statusCode).toBe(201);
    const other = (await h.deps.stores.users.findByCanonical('methods-other'))!;
    const res = await h.app.inject({ method: 'DELETE', url: `/auth/identities/google/${owner.subject}`, headers: await as(other) });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    expect(await h.deps.stores.identities.findBySubject('google', owner.subject)).not.toBeNull();
    expect((await h.app.inject({ method: 'DELETE', url: '/auth/identities/google/nobody', headers: await as(other) })).statusCode).toBe(404);
  });
});
