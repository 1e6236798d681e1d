import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClient } from '../../credentials/clients.js';
import { hashSecret } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { DEVICE_CODE_GRANT_TYPE } from '../grants/device-code.js';
import { MFA_OTP_GRANT_TYPE } from '../grants/mfa-otp.js';
import { resolveIdentity, type ResolveContext } from '../federation/accounts.js';
import { totpCodeAt, TOTP_PERIOD_SEC } from '../mfa/totp.js';
import { createAuthHarness, leakingBodies, passportFor, signin, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from '../test-helpers.js';
import { SoftAuthenticator } from '../webauthn/soft-authenticator.test-helpers.js';
import { auditPseudonym, deleteUser, disableUser, enableUser, endAllSessions, setUserRoles, type Actor } from './lifecycle.js';

/*
 * Issue 18, account lifecycle as functions (what the admin API and the CLI call): disable refuses
 * every sign-in path with exactly the wrong-password answer and revokes everything; enable undoes
 * it; delete pseudonymises the audit trail and quarantines the name (sign-up and rename refused,
 * until the quarantine ends); end-all-sessions; set roles.
 */

const ORIGIN = 'https://auth.example.com';
const CLI: Actor = { adminId: null };
const ADMIN: Actor = { adminId: 'admin-id-1' };
const STEP_MS = TOTP_PERIOD_SEC * 1000;

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness({ publicUrl: `${ORIGIN}/` });
  h.clock.set(Math.ceil(h.clock.now() / STEP_MS) * STEP_MS + 1000);
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

let n = 0;
async function newUser(prefix = 'life'): Promise<{ id: string; username: string }> {
  const username = `${prefix}-${++n}`;
  const res = await signup(h.app, username);
  expect(res.statusCode, res.body).toBe(201);
  return { id: (res.json() as { id: string }).id, username };
}

function tokenForm(params: Record<string, string>): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
}

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => h.app.inject({ method: 'POST', url, payload: payload as object, headers });

/** Status and body, what a client can tell apart. */
function answer(res: LightMyRequestResponse): { status: number; body: unknown } {
  return { status: res.statusCode, body: res.json() };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  return (err as GatehouseError).code;
}

async function eventsOf(userId: string) {
  return (await h.deps.stores.audit.listByUser(userId, 50)).map((e) => ({ type: e.type, detail: e.detail }));
}

describe('disableUser', () => {
  it('sign-in with the right password answers exactly as a wrong password (browser sign-in and password grant); enable lets it in again', async () => {
    const u = await newUser();
    const wrong = answer(await signin(h.app, { username: u.username, password: 'not-the-password-1' }));
    const wrongGrant = answer(await tokenForm({ grant_type: 'password', username: u.username, password: 'not-the-password-1', device_id: 'd' }));
    await disableUser(h.deps, u.id, CLI);
    const refused = await signin(h.app, { username: u.username, password: STRONG_PASSWORD });
    expect(answer(refused)).toEqual(wrong);
    expect(answer(refused).status).toBe(401);
    expect(refused.cookies.map((c) => c.name)).not.toContain('gatehouse_session');
    const refusedGrant = answer(await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'd' }));
    expect(refusedGrant).toEqual(wrongGrant);
    expect(refusedGrant).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

    const enabled = await enableUser(h.deps, u.id, ADMIN);
    expect(enabled.disabledAt).toBeNull();
    await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    expect((await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'd' })).statusCode).toBe(200);
    const types = (await eventsOf(u.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['account.disabled', 'account.enabled']));
    expect((await eventsOf(u.id)).find((e) => e.type === 'account.enabled')?.detail).toEqual({ by: 'admin-id-1' });
  });

  it('ends every session and refresh token with revocation events, kills access tokens (user event, sessions: true); idempotent; records who', async () => {
    const u = await newUser();
    const browser = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const grant = await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv' });
    const refreshToken = (grant.json() as { refresh_token: string }).refresh_token;
    const before = h.events.length;
    const user = await disableUser(h.deps, u.id, ADMIN);
    expect(user.disabledAt).toBe(h.clock.now());
    expect(await h.deps.stores.sessions.listByUser(u.id)).toEqual([]);
    const published = h.events.slice(before);
    expect(published.filter((e) => e.type === 'session').map((e) => (e as { sid: string }).sid)).toContain(browser.sid);
    expect(published).toContainEqual(expect.objectContaining({ type: 'user', userId: u.id, notBefore: h.clock.now(), sessions: true }));
    // The refresh grant: its session is gone.
    const refreshed = await tokenForm({ grant_type: 'refresh_token', refresh_token: refreshToken });
    expect(answer(refreshed)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // Again: same first time, one audit event only.
    h.clock.advance(1000);
    expect((await disableUser(h.deps, u.id, CLI)).disabledAt).toBe(user.disabledAt);
    expect((await eventsOf(u.id)).filter((e) => e.type === 'account.disabled')).toEqual([{ type: 'account.disabled', detail: { by: 'admin-id-1', sessions_ended: 2 } }]);
    expect(await codeOf(disableUser(h.deps, 'no-such-user', CLI))).toBe('not_found');
    expect(await codeOf(enableUser(h.deps, 'no-such-user', CLI))).toBe('not_found');
  });

  it('introspection answers {active: false} for a disabled user\'s access, refresh and API tokens, and active again for the API token after enable', async () => {
    h.deps.config.introspection.clients = [{ id: 'notes', secretSha256: hashSecret('introspection-secret-of-the-notes-service') }];
    const authorization = `Basic ${Buffer.from('notes:introspection-secret-of-the-notes-service').toString('base64')}`;
    const introspect = async (token: string) =>
      ((await h.app.inject({ method: 'POST', url: '/auth/introspect', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ token }).toString() })).json() as { active: boolean }).active;
    const u = await newUser('intro');
    const s = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const made = await post('/auth/api-tokens', { name: 'script', scopes: ['notes:read'] }, { 'x-passport': await passportFor(h.deps, s) });
    const apiToken = (made.json() as { token: string }).token;
    const grant = (await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv' })).json() as { access_token: string; refresh_token: string };
    expect([await introspect(grant.access_token), await introspect(grant.refresh_token), await introspect(apiToken)]).toEqual([true, true, true]);
    // The store alone (as a racing sign-in would leave its session): every token inactive.
    const now = h.clock.now();
    await h.deps.stores.users.setDisabled(u.id, now, now);
    expect([await introspect(grant.access_token), await introspect(grant.refresh_token), await introspect(apiToken)]).toEqual([false, false, false]);
    await h.deps.stores.users.setDisabled(u.id, null, now);
    await disableUser(h.deps, u.id, CLI);
    await enableUser(h.deps, u.id, CLI);
    expect([await introspect(grant.access_token), await introspect(grant.refresh_token), await introspect(apiToken)]).toEqual([false, false, true]);
    h.deps.config.introspection.clients = [];
  });

  it('the refresh grant refuses a session of a disabled user that a racing sign-in left behind', async () => {
    const u = await newUser();
    const grant = await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv' });
    const refreshToken = (grant.json() as { refresh_token: string }).refresh_token;
    // As if a sign-in had created its session between the disable and its sweep.
    const now = h.clock.now();
    await h.deps.stores.users.setDisabled(u.id, now, now);
    expect(answer(await tokenForm({ grant_type: 'refresh_token', refresh_token: refreshToken }))).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await h.deps.stores.users.setDisabled(u.id, null, now);
    expect((await tokenForm({ grant_type: 'refresh_token', refresh_token: refreshToken })).statusCode).toBe(200);
  });

  it('the MFA second step of a ticket taken before the disable answers as a wrong password', async () => {
    const u = await newUser('mfa');
    const s = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const headers = { 'x-passport': await passportFor(h.deps, s) };
    const enrol = await post('/auth/mfa/totp', { password: STRONG_PASSWORD }, headers);
    const secret = (enrol.json() as { secret: string }).secret;
    expect((await post('/auth/mfa/totp/confirm', { code: totpCodeAt(secret, h.clock.now()) }, headers)).statusCode).toBe(200);
    h.clock.advance(STEP_MS);
    const wrong = answer(await signin(h.app, { username: u.username, password: 'not-the-password-1' }));
    const first = await signin(h.app, { username: u.username, password: STRONG_PASSWORD });
    expect(first.json()).toMatchObject({ code: 'mfa_required' });
    const ticket = (first.json() as { mfa_ticket: string }).mfa_ticket;
    await disableUser(h.deps, u.id, CLI);
    const second = await post('/auth/signin/mfa', { ticket, code: totpCodeAt(secret, h.clock.now()) });
    expect(answer(second)).toEqual(wrong);
    expect(second.cookies.map((c) => c.name)).not.toContain('gatehouse_session');
  });

  it('the mfa-otp grant of an mfa_token taken before the disable answers as the password grant\'s wrong password', async () => {
    const u = await newUser('mfagrant');
    const s = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const headers = { 'x-passport': await passportFor(h.deps, s) };
    const secret = ((await post('/auth/mfa/totp', { password: STRONG_PASSWORD }, headers)).json() as { secret: string }).secret;
    expect((await post('/auth/mfa/totp/confirm', { code: totpCodeAt(secret, h.clock.now()) }, headers)).statusCode).toBe(200);
    h.clock.advance(STEP_MS);
    const wrong = answer(await tokenForm({ grant_type: 'password', username: u.username, password: 'not-the-password-1', device_id: 'tv' }));
    const first = await tokenForm({ grant_type: 'password', username: u.username, password: STRONG_PASSWORD, device_id: 'tv' });
    const mfaToken = (first.json() as { mfa_token: string }).mfa_token;
    expect(typeof mfaToken).toBe('string');
    await disableUser(h.deps, u.id, CLI);
    const second = await tokenForm({ grant_type: MFA_OTP_GRANT_TYPE, mfa_token: mfaToken, otp: totpCodeAt(secret, h.clock.now()) });
    expect(answer(second)).toEqual(wrong);
  });

  it('a device-flow approval redeemed after the disable is refused as an unknown device code', async () => {
    await addClient(h.deps.stores.clients, { name: 'TV', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'], audiences: [], clientId: `tv-${++n}` }, h.deps.config.tokens.defaultScopes, h.clock.now());
    const clientId = `tv-${n}`;
    const u = await newUser('dev');
    const s = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const form = (url: string, params: Record<string, string>) => h.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
    const started = (await form('/auth/device/authorize', { client_id: clientId })).json() as { device_code: string; user_code: string };
    const approve = await h.app.inject({ method: 'POST', url: '/auth/device/approve', headers: { 'x-passport': await passportFor(h.deps, s) }, payload: { user_code: started.user_code } });
    expect(approve.statusCode, approve.body).toBe(200);
    const unknown = answer(await form('/auth/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: `${started.device_code.slice(0, -2)}xx`, client_id: clientId }));
    await disableUser(h.deps, u.id, CLI);
    const polled = answer(await form('/auth/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: started.device_code, client_id: clientId }));
    expect(polled).toEqual(unknown);
    expect(polled).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('a passkey sign-in is refused as a passkey that does not verify', async () => {
    const u = await newUser('pk');
    const s = await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    const headers = { 'x-passport': await passportFor(h.deps, s) };
    const authenticator = new SoftAuthenticator('auth.example.com', ORIGIN);
    const opts = await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, headers);
    expect((await post('/auth/passkeys', { name: 'laptop', response: authenticator.register(opts.json()) }, headers)).statusCode).toBe(201);
    const signInWithPasskey = async () => {
      const o = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
      return post('/auth/signin/passkey', { response: authenticator.assert(o) });
    };
    const stranger = new SoftAuthenticator('auth.example.com', ORIGIN);
    stranger.register((await post('/auth/passkeys/options', { password: STRONG_PASSWORD }, headers)).json());
    const o = (await post('/auth/signin/passkey/options', {})).json<{ challenge: string }>();
    const unknown = answer(await post('/auth/signin/passkey', { response: stranger.assert(o) }));
    expect((await signInWithPasskey()).statusCode).toBe(200);
    await disableUser(h.deps, u.id, CLI);
    const refused = await signInWithPasskey();
    expect(answer(refused)).toEqual(unknown);
    expect(refused.cookies.map((c) => c.name)).not.toContain('gatehouse_session');
    await enableUser(h.deps, u.id, CLI);
    expect((await signInWithPasskey()).statusCode).toBe(200);
  });

  it('federation: a disabled user\'s linked identity answers as a wrong password sign-in', async () => {
    const ctx: ResolveContext = { deps: h.deps, request: null, deviceId: 'laptop-1' };
    const identity = { provider: 'google', subject: `g-${++n}`, email: null, emailVerified: false, preferredUsername: `fed-${n}`, displayName: null };
    const rules = { allowSignup: true, linkByVerifiedEmail: false };
    const { user } = await resolveIdentity(ctx, identity, rules, { kind: 'signin' });
    await disableUser(h.deps, user.id, CLI);
    expect(await codeOf(resolveIdentity(ctx, identity, rules, { kind: 'signin' }))).toBe('invalid_credentials');
    await enableUser(h.deps, user.id, CLI);
    expect((await resolveIdentity(ctx, identity, rules, { kind: 'signin' })).user.id).toBe(user.id);
  });
});

describe('deleteUser', () => {
  it('removes the user, keeps their events under a pseudonym (cleared of ip, device, agent, detail) plus account.deleted {by}', async () => {
    const u = await newUser('gone');
    await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD }, { 'user-agent': 'Firefox' });
    const before = await h.deps.stores.audit.listByUser(u.id, 50);
    expect(before.length).toBeGreaterThanOrEqual(2);
    const subject = auditPseudonym(h.deps, u.id);
    expect(subject).toMatch(/^deleted:[A-Za-z0-9_-]{22}$/);
    expect(auditPseudonym(h.deps, u.id)).toBe(subject);
    await deleteUser(h.deps, u.id, ADMIN);
    expect(await h.deps.stores.users.findById(u.id)).toBeNull();
    expect(await h.deps.stores.audit.listByUser(u.id, 50)).toEqual([]);
    const kept = await h.deps.stores.audit.listByUser(subject, 50);
    expect(kept[0]).toMatchObject({ type: 'account.deleted', userId: subject, detail: { by: 'admin-id-1' } });
    expect(kept.slice(1).map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
    for (const e of kept.slice(1)) expect(e).toMatchObject({ userId: subject, ip: null, deviceId: null, userAgent: null, detail: null });
    expect(await codeOf(deleteUser(h.deps, u.id, ADMIN))).toBe('not_found');
  });

  it('quarantines the name and its look-alikes for users.deletedUsernameQuarantineDays: sign-up and rename answer username_taken until then', async () => {
    const u = await newUser('quar');
    const other = await newUser('renamer');
    await deleteUser(h.deps, u.id, CLI);
    expect((await signup(h.app, u.username)).json()).toMatchObject({ code: 'username_taken' });
    expect((await signup(h.app, u.username.toUpperCase())).json()).toMatchObject({ code: 'username_taken' });
    // A look-alike: Cyrillic "а" for the Latin "a".
    expect((await signup(h.app, u.username.replace('a', '\u0430'))).json()).toMatchObject({ code: 'username_taken' });
    const s = await signinOk(h.app, { username: other.username, password: STRONG_PASSWORD });
    const rename = await h.app.inject({ method: 'POST', url: '/auth/username', headers: { 'x-passport': await passportFor(h.deps, s) }, payload: { username: u.username } });
    expect(rename.json()).toMatchObject({ code: 'username_taken' });
    h.clock.advance(30 * 86_400_000 - 1);
    expect((await signup(h.app, u.username)).json()).toMatchObject({ code: 'username_taken' });
    h.clock.advance(1);
    expect((await signup(h.app, u.username)).statusCode).toBe(201);
  });

  it('with users.deletedUsernameQuarantineDays = 0 the name is free at once', async () => {
    const u = await newUser('free');
    h.deps.config.users.deletedUsernameQuarantineDays = 0;
    try {
      await deleteUser(h.deps, u.id, CLI);
      expect((await signup(h.app, u.username)).statusCode).toBe(201);
    } finally {
      h.deps.config.users.deletedUsernameQuarantineDays = 30;
    }
  });
});

describe('endAllSessions and setUserRoles', () => {
  it('endAllSessions ends every session as sign-out-all does, records signout_all {by, ended}', async () => {
    const u = await newUser();
    await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD });
    await signinOk(h.app, { username: u.username, password: STRONG_PASSWORD, device_id: 'second-device' });
    const before = h.events.length;
    expect(await endAllSessions(h.deps, u.id, ADMIN)).toBe(2);
    expect(await h.deps.stores.sessions.listByUser(u.id)).toEqual([]);
    expect(h.events.slice(before)).toContainEqual(expect.objectContaining({ type: 'user', userId: u.id }));
    expect((await eventsOf(u.id)).find((e) => e.type === 'signout_all')?.detail).toEqual({ by: 'admin-id-1', ended: 2 });
    expect(await codeOf(endAllSessions(h.deps, 'nobody', ADMIN))).toBe('not_found');
  });

  it('setUserRoles checks each role, drops duplicates, records roles.changed only when they change', async () => {
    const u = await newUser();
    const updated = await setUserRoles(h.deps, u.id, ['admin', 'staff', 'admin'], ADMIN);
    expect(updated.roles).toEqual(['admin', 'staff']);
    expect((await h.deps.stores.users.findById(u.id))?.roles).toEqual(['admin', 'staff']);
    await setUserRoles(h.deps, u.id, ['admin', 'staff'], ADMIN);
    expect((await eventsOf(u.id)).filter((e) => e.type === 'roles.changed')).toEqual([{ type: 'roles.changed', detail: { by: 'admin-id-1', roles: 'admin,staff' } }]);
    expect(await codeOf(setUserRoles(h.deps, u.id, ['Bad Role'], ADMIN))).toBe('invalid_request');
    expect((await h.deps.stores.users.findById(u.id))?.roles).toEqual(['admin', 'staff']);
    expect(await codeOf(setUserRoles(h.deps, 'nobody', [], ADMIN))).toBe('not_found');
  });
});
