/**
 * Issue 18: email verification, forgotten password, reset links, the forced password change and
 * security notifications, against a REAL SMTP server on 127.0.0.1 (smtp-server.test-helpers.ts).
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, randomId } from '../../crypto/secrets.js';
import { NO_PASSWORD } from '../../stores/types.js';
import { captureLogs } from '../../util/log-capture.test-helpers.js';
import type { LogLine } from '../../util/log-capture.test-helpers.js';
import { mailOf } from '../email/mail.js';
import { totpCodeAt, TOTP_PERIOD_SEC } from '../mfa/totp.js';
import { startTestSmtpServer, tokenIn, type TestSmtpServer } from '../email/smtp-server.test-helpers.js';
import { createDeviceSession } from '../sessions.js';
import { createAuthHarness, mintPassport, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type HarnessOptions, type SignedIn } from '../test-helpers.js';
import { disableUser, enableUser } from '../admin/lifecycle.js';
import { createResetLink, requirePasswordChange } from './admin.js';
import { FORGOT_ANSWER } from './forgot.js';

const NEW_PASSWORD = 'fresh-heron-paints-77';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
});
afterAll(async () => {
  await smtp.close();
});

interface Ctx {
  h: AuthHarness;
  lines: LogLine[];
}

async function harness(options: HarnessOptions = {}, smtpUrl: string | null = smtp.url): Promise<Ctx> {
  const { logger, lines } = captureLogs('debug');
  const h = await createAuthHarness({
    logger,
    ...options,
    config: (c) => {
      c.email.smtpUrl = smtpUrl;
      c.email.from = 'Gatehouse <no-reply@example.com>';
      options.config?.(c);
    },
  });
  return { h, lines };
}

/** A fresh recipient address per test (the SMTP server is shared). */
let n = 0;
const addressFor = (name: string): string => `${name}-${++n}-${Date.now()}@example.com`;

async function account(h: AuthHarness, username: string, deviceId = `dev-${username}`): Promise<SignedIn> {
  const res = await signup(h.app, username);
  if (res.statusCode !== 201) throw new Error(`sign-up answered ${res.statusCode}`);
  return signinOk(h.app, { username, password: STRONG_PASSWORD, device_id: deviceId });
}

async function authed(h: AuthHarness, s: SignedIn, method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: unknown) {
  return h.app.inject({ method, url, headers: { 'x-passport': await passportFor(h.deps, s) }, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}) });
}

/** Sets and verifies an address for the account through the endpoints and the real SMTP server. */
async function verifiedEmail(h: AuthHarness, s: SignedIn): Promise<string> {
  const address = addressFor(s.username);
  const put = await authed(h, s, 'PUT', '/auth/email', { email: address, password: STRONG_PASSWORD });
  expect(put.statusCode, put.body).toBe(200);
  const mail = await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Confirm your email address');
  const res = await h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: tokenIn(mail.text) } });
  expect(res.statusCode, res.body).toBe(200);
  return address;
}

const forgot = (h: AuthHarness, input: string, ip = '203.0.113.7') =>
  h.app.inject({ method: 'POST', url: '/auth/password/forgot', payload: { username_or_email: input }, headers: { 'x-gatehouse-client-ip': ip } });

const mailsTo = (address: string, subject?: string) => smtp.messages.filter((m) => m.to.includes(address) && (subject === undefined || m.subject === subject));

describe('email address and verification', () => {
  let c: Ctx;
  beforeEach(async () => {
    c = await harness();
  });
  afterEach(async () => {
    await c.h.close();
  });

  it('PUT mails a link to /verify-email#token=; the address counts only once the link is used (signed out)', async () => {
    const s = await account(c.h, 'vera');
    expect((await authed(c.h, s, 'GET', '/auth/email')).json()).toEqual({ email: null, verified: false, verified_at: null, password_required: true });
    const address = addressFor('vera');
    const put = await authed(c.h, s, 'PUT', '/auth/email', { email: address, password: STRONG_PASSWORD });
    expect(put.json()).toEqual({ email: address, verified: false, verified_at: null });
    const mail = await smtp.waitFor((m) => m.to.includes(address));
    expect(mail.from).toBe('no-reply@example.com');
    expect(mail.text).toMatch(/http:\/\/127\.0\.0\.1:8080\/verify-email#token=[A-Za-z0-9_-]{43}/);
    // Not verified: a forgotten-password request sends nothing yet.
    expect((await forgot(c.h, address)).statusCode).toBe(202);
    await mailOf(c.h.deps).settle();
    expect(mailsTo(address, 'Reset your password')).toHaveLength(0);
    // The link works without any credential (the token names the user and the address), once.
    const verify = await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: tokenIn(mail.text) } });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ email: address, verified: true });
    const again = await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: tokenIn(mail.text) } });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('invalid_verification_token');
    expect((await authed(c.h, s, 'GET', '/auth/email')).json()).toMatchObject({ email: address, verified: true });
    const events = await c.h.deps.stores.audit.listByUser(s.userId, 5);
    expect(events.slice(0, 2).map((e) => e.type)).toEqual(['email.verified', 'email.added']);
    // The audit log keeps the address's domain, never the address.
    for (const e of events.slice(0, 2)) expect(e.detail).toEqual({ domain: 'example.com' });
  });

  it('verification mails are limited per account and per address (recovery.verifyMailsPerHour): 429, nothing sent or changed', async () => {
    await c.h.close();
    c = await harness({ config: (cfg) => void (cfg.recovery.verifyMailsPerHour = 2) });
    const put = (s: SignedIn, email: string) => authed(c.h, s, 'PUT', '/auth/email', { email, password: STRONG_PASSWORD });
    // One account naming a new victim each time.
    const spammer = await account(c.h, 'sam');
    const victims = [addressFor('v'), addressFor('v'), addressFor('v')];
    expect((await put(spammer, victims[0]!)).statusCode).toBe(200);
    expect((await put(spammer, victims[1]!)).statusCode).toBe(200);
    const third = await put(spammer, victims[2]!);
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ code: 'rate_limited', detail: expect.stringContaining('recovery.verifyMailsPerHour') });
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(3500);
    await mailOf(c.h.deps).settle();
    expect(mailsTo(victims[2]!)).toHaveLength(0);
    expect((await c.h.deps.stores.emails.get(spammer.userId))?.address).toBe(victims[1]);
    // Many accounts naming one victim.
    const target = addressFor('target');
    for (const name of ['ann1', 'ann2']) expect((await put(await account(c.h, name), target)).statusCode).toBe(200);
    expect((await put(await account(c.h, 'ann3'), target)).statusCode).toBe(429);
    await mailOf(c.h.deps).settle();
    expect(mailsTo(target)).toHaveLength(2);
  });

  it('a password-less (federated) account needs a sign-in within the last ten minutes to set its address', async () => {
    const now = c.h.clock.now();
    const user = { id: randomId(), username: 'fedra', usernameCanonical: 'fedra', passwordHash: NO_PASSWORD, roles: [], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
    await c.h.deps.stores.users.create(user);
    const { session } = await createDeviceSession(c.h.deps, { user, deviceId: 'dev-fedra', deviceName: null, persistent: true });
    const put = async (email: string) =>
      c.h.app.inject({
        method: 'PUT',
        url: '/auth/email',
        payload: { email },
        headers: { 'x-passport': await mintPassport(c.h.deps, { sub: user.id, username: user.username, roles: [], sid: session.id, did: session.deviceId, auth: 'session' }) },
      });
    // The account page reads whether to ask for a password (this account has none to give).
    const got = await c.h.app.inject({
      method: 'GET',
      url: '/auth/email',
      headers: { 'x-passport': await mintPassport(c.h.deps, { sub: user.id, username: user.username, roles: [], sid: session.id, did: session.deviceId, auth: 'session' }) },
    });
    expect(got.json()).toEqual({ email: null, verified: false, verified_at: null, password_required: false });
    const fresh = addressFor('fedra');
    expect((await put(fresh)).statusCode).toBe(200);
    c.h.clock.advance(11 * 60_000);
    const stale = addressFor('thief');
    const res = await put(stale);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'forbidden', detail: expect.stringContaining('Sign in again') });
    await mailOf(c.h.deps).settle();
    expect(mailsTo(stale)).toHaveLength(0);
    expect((await c.h.deps.stores.emails.get(user.id))?.address).toBe(fresh);
  });

  it('a password-less account that sets its first password voids a reset link made before', async () => {
    const now = c.h.clock.now();
    const user = { id: randomId(), username: 'pia', usernameCanonical: 'pia', passwordHash: NO_PASSWORD, roles: [], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
    await c.h.deps.stores.users.create(user);
    const { session } = await createDeviceSession(c.h.deps, { user, deviceId: 'dev-pia', deviceName: null, persistent: true });
    const { url } = await createResetLink(c.h.deps, user.id, { adminId: null });
    const set = await c.h.app.inject({
      method: 'POST',
      url: '/auth/password/set',
      payload: { new_password: STRONG_PASSWORD },
      headers: { 'x-passport': await mintPassport(c.h.deps, { sub: user.id, username: user.username, roles: [], sid: session.id, did: session.deviceId, auth: 'session' }) },
    });
    expect(set.statusCode).toBe(204);
    const use = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token: tokenIn(url), password: NEW_PASSWORD } });
    expect(use.json().code).toBe('invalid_reset_token');
  });

  it('needs the current password; a bad address is refused', async () => {
    const s = await account(c.h, 'wanda');
    const wrong = await authed(c.h, s, 'PUT', '/auth/email', { email: addressFor('wanda'), password: 'not the password' });
    expect(wrong.statusCode).toBe(401);
    expect((await authed(c.h, s, 'PUT', '/auth/email', { email: addressFor('wanda') })).statusCode).toBe(401);
    const bad = await authed(c.h, s, 'PUT', '/auth/email', { email: 'Wanda <wanda@example.com>', password: STRONG_PASSWORD });
    expect(bad.statusCode).toBe(400);
    expect(await c.h.deps.stores.emails.get(s.userId)).toBeNull();
  });

  it('a link is bound to the address: once the account has another address, the old link verifies nothing', async () => {
    const s = await account(c.h, 'xena');
    const first = addressFor('xena');
    await authed(c.h, s, 'PUT', '/auth/email', { email: first, password: STRONG_PASSWORD });
    const link = tokenIn((await smtp.waitFor((m) => m.to.includes(first))).text);
    // The address changes without a new link (as a write racing the link would leave it).
    await c.h.deps.stores.emails.set(s.userId, addressFor('xena-other'), c.h.clock.now());
    const res = await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: link } });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_verification_token');
    expect((await c.h.deps.stores.emails.get(s.userId))?.verifiedAt).toBeNull();
  });

  it('a link is bound to the user: another account with the same address stays unverified', async () => {
    const s = await account(c.h, 'yara');
    const other = await account(c.h, 'yuri');
    const address = addressFor('shared');
    await authed(c.h, s, 'PUT', '/auth/email', { email: address, password: STRONG_PASSWORD });
    const link = tokenIn((await smtp.waitFor((m) => m.to.includes(address))).text);
    await c.h.deps.stores.emails.set(other.userId, address, c.h.clock.now());
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: link } })).statusCode).toBe(200);
    expect((await c.h.deps.stores.emails.get(s.userId))?.verifiedAt).not.toBeNull();
    expect((await c.h.deps.stores.emails.get(other.userId))?.verifiedAt).toBeNull();
  });

  it('an expired link is refused; DELETE removes the address', async () => {
    const s = await account(c.h, 'zora');
    const address = addressFor('zora');
    await authed(c.h, s, 'PUT', '/auth/email', { email: address, password: STRONG_PASSWORD });
    const link = tokenIn((await smtp.waitFor((m) => m.to.includes(address))).text);
    c.h.clock.advance(24 * 3600_000 + 1);
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: link } })).statusCode).toBe(400);
    // Removing asks for the current password, as a change does (a stolen session must not remove the owner's address).
    expect((await authed(c.h, s, 'DELETE', '/auth/email', {})).json().code).toBe('invalid_credentials');
    expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: 'not the password' })).json().code).toBe('invalid_credentials');
    expect(await c.h.deps.stores.emails.get(s.userId)).not.toBeNull();
    expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: STRONG_PASSWORD })).statusCode).toBe(204);
    expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: STRONG_PASSWORD })).statusCode).toBe(404);
    expect(await c.h.deps.stores.emails.get(s.userId)).toBeNull();
  });
});

describe('forgotten password and reset links', () => {
  let c: Ctx;
  beforeEach(async () => {
    c = await harness();
  });
  afterEach(async () => {
    await c.h.close();
  });

  it('by username or by verified address: the link arrives; the reset ends every session and refresh token, and mails a notification', async () => {
    const s = await account(c.h, 'alma');
    const address = await verifiedEmail(c.h, s);
    const byName = await forgot(c.h, 'ALMA');
    expect(byName.statusCode).toBe(202);
    expect(byName.json()).toEqual(FORGOT_ANSWER);
    const mail = await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Reset your password');
    expect(mail.text).toMatch(/http:\/\/127\.0\.0\.1:8080\/reset-password#token=[A-Za-z0-9_-]{43}/);
    const token = tokenIn(mail.text);

    // A device session with a refresh token (password grant), and the browser session.
    const grant = await c.h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: 'alma', password: STRONG_PASSWORD, device_id: 'tv' } });
    expect(grant.statusCode).toBe(200);
    expect((await c.h.deps.stores.sessions.listByUser(s.userId)).length).toBe(2);

    const weak = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: 'alma' } });
    expect(weak.statusCode).toBe(400);
    const reset = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: NEW_PASSWORD } });
    expect(reset.statusCode, reset.body).toBe(204);
    expect(await c.h.deps.stores.sessions.listByUser(s.userId)).toEqual([]);
    const refresh = await c.h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: grant.json().refresh_token } });
    expect(refresh.statusCode).toBe(400);
    expect(c.h.events.some((e) => e.type === 'user' && e.userId === s.userId)).toBe(true);
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'alma', password: STRONG_PASSWORD } })).statusCode).toBe(401);
    await signinOk(c.h.app, { username: 'alma', password: NEW_PASSWORD, device_id: 'dev-alma' });
    await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Your password was reset');
    expect((await c.h.deps.stores.audit.listByUser(s.userId, 20)).map((e) => e.type)).toEqual(expect.arrayContaining(['password.reset_requested', 'password.reset']));

    // By address, case aside.
    expect((await forgot(c.h, address.toUpperCase())).statusCode).toBe(202);
    await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Reset your password' && tokenIn(m.text) !== token);
  });

  it('a reset token is single use, expires, and is voided by a newer one', async () => {
    const s = await account(c.h, 'bea');
    const address = await verifiedEmail(c.h, s);
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      await forgot(c.h, 'bea');
      await mailOf(c.h.deps).settle();
      tokens.push(tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text));
    }
    const [older, newer] = tokens as [string, string];
    expect(older).not.toBe(newer);
    const use = (token: string, password = NEW_PASSWORD) => c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password } });
    const refused = await use(older);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().code).toBe('invalid_reset_token');
    expect((await use(newer)).statusCode).toBe(204);
    expect((await use(newer, 'yet-another-pass-99')).statusCode).toBe(400);

    await forgot(c.h, 'bea');
    await mailOf(c.h.deps).settle();
    const late = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    c.h.clock.advance(30 * 60_000);
    expect((await use(late)).json().code).toBe('invalid_reset_token');
  });

  it('a pending reset link dies when the user changes their password, or changes or removes their address', async () => {
    const s = await account(c.h, 'remy');
    await verifiedEmail(c.h, s);
    const use = (token: string) => c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: NEW_PASSWORD } });
    const pending = async (): Promise<string> => {
      const address = (await c.h.deps.stores.emails.get(s.userId))!.address;
      await forgot(c.h, address);
      await mailOf(c.h.deps).settle();
      return tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    };
    // The address changed (the old mailbox may be someone else's now): the link sent there sets nothing.
    let token = await pending();
    expect((await authed(c.h, s, 'PUT', '/auth/email', { email: addressFor('remy'), password: STRONG_PASSWORD })).statusCode).toBe(200);
    expect((await use(token)).json().code).toBe('invalid_reset_token');
    // The address removed: likewise.
    await verifiedEmail(c.h, s);
    token = await pending();
    expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: STRONG_PASSWORD })).statusCode).toBe(204);
    expect((await use(token)).json().code).toBe('invalid_reset_token');
    // The owner chose a new password: a link mailed before (perhaps to someone reading the mailbox) sets nothing.
    await verifiedEmail(c.h, s);
    token = await pending();
    expect((await authed(c.h, s, 'POST', '/auth/password', { current_password: STRONG_PASSWORD, new_password: 'other-otter-sings-42' })).statusCode).toBe(204);
    expect((await use(token)).json().code).toBe('invalid_reset_token');
    expect((await c.h.deps.stores.audit.listByUser(s.userId, 50)).some((e) => e.type === 'password.reset')).toBe(false);
  });

  it('a disabled account gets no forced-change token; a reset while disabled sets the password but signs nobody in until enabled', async () => {
    const s = await account(c.h, 'dora');
    const address = await verifiedEmail(c.h, s);
    await disableUser(c.h.deps, s.userId, { adminId: null });
    // A forced change never hands a disabled account a reset token: the right password is a wrong one.
    await requirePasswordChange(c.h.deps, s.userId, { adminId: null });
    for (const [url, payload] of [
      ['/auth/signin', { username: 'dora', password: STRONG_PASSWORD }],
      ['/auth/token', { grant_type: 'password', username: 'dora', password: STRONG_PASSWORD, device_id: 'tv' }],
    ] as const) {
      const res = await c.h.app.inject({ method: 'POST', url, payload });
      expect(res.statusCode, url).toBe(url === '/auth/signin' ? 401 : 400);
      expect(res.body, url).not.toContain('reset_token');
      expect(res.body, url).toContain(url === '/auth/signin' ? 'invalid_credentials' : 'invalid_grant');
    }
    await forgot(c.h, 'dora');
    await mailOf(c.h.deps).settle();
    const token = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: NEW_PASSWORD } })).statusCode).toBe(204);
    const refused = await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'dora', password: NEW_PASSWORD } });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().code).toBe('invalid_credentials');
    expect(await c.h.deps.stores.sessions.listByUser(s.userId)).toEqual([]);
    await enableUser(c.h.deps, s.userId, { adminId: null });
    await signinOk(c.h.app, { username: 'dora', password: NEW_PASSWORD });
  });

  it('a reset clears the account\'s sign-in lock: the new password signs in at once', async () => {
    const s = await account(c.h, 'lola');
    const address = await verifiedEmail(c.h, s);
    for (let i = 0; i < 5; i++) await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'lola', password: `wrong guess ${i}` } });
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'lola', password: STRONG_PASSWORD } })).statusCode).toBe(429);
    await forgot(c.h, 'lola');
    await mailOf(c.h.deps).settle();
    const token = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    expect((await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: NEW_PASSWORD } })).statusCode).toBe(204);
    await signinOk(c.h.app, { username: 'lola', password: NEW_PASSWORD });
  });

  it('of parallel uses of one reset link exactly one succeeds', async () => {
    const s = await account(c.h, 'cleo');
    const address = await verifiedEmail(c.h, s);
    await forgot(c.h, 'cleo');
    await mailOf(c.h.deps).settle();
    const token = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    const answers = await Promise.all(Array.from({ length: 4 }, (_, i) => c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: `${NEW_PASSWORD}-${i}` } })));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([204, 400, 400, 400]);
  });

  it('only the SHA-256 of a token is stored (raw table read)', async () => {
    const s = await account(c.h, 'dora');
    const address = await verifiedEmail(c.h, s);
    await forgot(c.h, 'dora');
    await mailOf(c.h.deps).settle();
    const token = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    const db = new Database(join(c.h.deps.config.dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const rows = db.prepare('select * from email_tokens').all() as Record<string, unknown>[];
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(token);
      expect(rows.map((r) => r.token_hash)).toContain(hashSecret(token));
    } finally {
      db.close();
    }
  });

  it('leaks nothing: the same status and body for a known or unknown username or address, in about the same time', async () => {
    const s = await account(c.h, 'edda');
    const address = await verifiedEmail(c.h, s);
    const inputs = ['edda', 'nobody-here', address, 'nobody@example.com'];
    const times: Record<string, number[]> = {};
    for (let round = 0; round < 5; round++) {
      for (const input of inputs) {
        const t0 = performance.now();
        const res = await forgot(c.h, input, `198.51.100.${round * 10 + inputs.indexOf(input)}`);
        (times[input] ??= []).push(performance.now() - t0);
        expect(res.statusCode, input).toBe(202);
        expect(res.body, input).toBe(JSON.stringify(FORGOT_ANSWER));
        expect(res.headers['content-type'], input).toBe(byContentType);
      }
    }
    const median = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)]!;
    const medians = inputs.map((i) => median(times[i]!));
    // Every answer waits for the floor (200 ms); the work behind a known account is done after the answer.
    for (const m of medians) expect(m).toBeGreaterThanOrEqual(195);
    expect(Math.max(...medians) - Math.min(...medians)).toBeLessThan(60);
  });

  it('limits: per account (same answer, nothing sent) and per IP (429)', async () => {
    await c.h.close();
    c = await harness({ abuseLimits: 'defaults' });
    const s = await account(c.h, 'fern');
    const address = await verifiedEmail(c.h, s);
    for (let i = 0; i < 5; i++) expect((await forgot(c.h, 'fern', `192.0.2.${i}`)).statusCode).toBe(202);
    await mailOf(c.h.deps).settle();
    expect(mailsTo(address, 'Reset your password')).toHaveLength(3);
    // Per IP: 5 a minute.
    for (let i = 0; i < 5; i++) expect((await forgot(c.h, `who-${i}`, '192.0.2.200')).statusCode).toBe(202);
    const ipLimited = await forgot(c.h, 'who-x', '192.0.2.200');
    expect(ipLimited.statusCode).toBe(429);
    expect(ipLimited.headers['retry-after']).toBeDefined();
  });

  it('overall limit', async () => {
    const g = await harness({ config: (cfg) => void (cfg.recovery.forgotGlobalPerMinute = 3) });
    try {
      for (let i = 0; i < 3; i++) expect((await forgot(g.h, `x-${i}`, `192.0.2.${i}`)).statusCode).toBe(202);
      expect((await forgot(g.h, 'x-9', '192.0.2.99')).statusCode).toBe(429);
    } finally {
      await g.h.close();
    }
  });

  it('no log line holds a token or a link', async () => {
    const s = await account(c.h, 'gail');
    const address = await verifiedEmail(c.h, s);
    await forgot(c.h, 'gail');
    await forgot(c.h, address);
    await mailOf(c.h.deps).settle();
    const token = tokenIn(mailsTo(address, 'Reset your password').at(-1)!.text);
    await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token, password: NEW_PASSWORD } });
    await mailOf(c.h.deps).settle();
    const secrets = smtp.messages.filter((m) => m.to.includes(address)).map((m) => /#token=([A-Za-z0-9_-]+)/.exec(m.text)?.[1]).filter((t): t is string => t !== undefined);
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const text = c.lines.map((l) => JSON.stringify(l)).join('\n');
    expect(c.lines.some((l) => l.event === 'email.sent')).toBe(true);
    for (const t of secrets) expect(text).not.toContain(t);
    expect(text).not.toMatch(/#token=|reset-password|verify-email/);
    expect(text).not.toContain(address);
  });
});

const byContentType = 'application/json; charset=utf-8';

describe('SMTP down or not configured', () => {
  it('forgot still answers 202; the failure is logged without the link and counted', async () => {
    const c = await harness({}, 'smtp://127.0.0.1:1');
    try {
      const s = await account(c.h, 'hana');
      await c.h.deps.stores.emails.set(s.userId, 'hana@example.com', c.h.clock.now());
      await c.h.deps.stores.emails.markVerified(s.userId, 'hana@example.com', c.h.clock.now());
      const res = await forgot(c.h, 'hana');
      expect(res.statusCode).toBe(202);
      expect(res.json()).toEqual(FORGOT_ANSWER);
      await mailOf(c.h.deps).settle();
      const failed = c.lines.find((l) => l.event === 'email.failed');
      expect(failed).toMatchObject({ level: 'warn', kind: 'reset', userId: s.userId });
      expect(JSON.stringify(failed)).not.toMatch(/token|hana@/);
      const metrics = await c.h.auth.metrics.registry.getSingleMetricAsString('gatehouse_emails_total');
      expect(metrics).toMatch(/gatehouse_emails_total\{kind="reset",outcome="failed"\} 1/);
      expect((await c.h.deps.stores.audit.listByUser(s.userId, 1))[0]).toMatchObject({ type: 'password.reset_requested', detail: { sent: false } });
      // Where the mail is the whole point: 503, nothing changed.
      const put = await authed(c.h, s, 'PUT', '/auth/email', { email: 'new@example.com', password: STRONG_PASSWORD });
      expect(put.statusCode).toBe(503);
      expect(put.json().code).toBe('email_unavailable');
      expect((await c.h.deps.stores.emails.get(s.userId))?.address).toBe('hana@example.com');
    } finally {
      await c.h.close();
    }
  });

  it('an SMTP server that never answers holds a request at most email.sendTimeoutMs', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const c = await harness({ config: (cfg) => void (cfg.email.sendTimeoutMs = 300) }, `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    try {
      const s = await account(c.h, 'iris');
      const t0 = performance.now();
      const put = await authed(c.h, s, 'PUT', '/auth/email', { email: 'iris@example.com', password: STRONG_PASSWORD });
      expect(put.statusCode).toBe(503);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(c.lines.find((l) => l.event === 'email.failed')).toMatchObject({ kind: 'verify', userId: s.userId });
    } finally {
      await c.h.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('without email.smtpUrl: PUT answers 503 email_unavailable, forgot 202', async () => {
    const c = await harness({}, null);
    try {
      const s = await account(c.h, 'ines');
      const put = await authed(c.h, s, 'PUT', '/auth/email', { email: 'ines@example.com', password: STRONG_PASSWORD });
      expect(put.statusCode).toBe(503);
      expect(put.json().code).toBe('email_unavailable');
      expect((await forgot(c.h, 'ines')).statusCode).toBe(202);
    } finally {
      await c.h.close();
    }
  });
});

describe('forced password change (password_change_required)', () => {
  let c: Ctx;
  beforeEach(async () => {
    c = await harness();
  });
  afterEach(async () => {
    await c.h.close();
  });

  it('sign-in with the right password answers 403 with a reset token; the new password clears the flag', async () => {
    const s = await account(c.h, 'jade');
    await requirePasswordChange(c.h.deps, s.userId, { adminId: null });
    const wrong = await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'jade', password: 'not it at all' } });
    expect(wrong.statusCode).toBe(401);
    const res = await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'jade', password: STRONG_PASSWORD } });
    expect(res.statusCode).toBe(403);
    const body = res.json<{ code: string; reset_token: string; expires_in: number }>();
    expect(body.code).toBe('password_change_required');
    expect(body.expires_in).toBe(30 * 60);
    expect(res.headers['set-cookie']).toBeUndefined();
    const grant = await c.h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: 'jade', password: STRONG_PASSWORD, device_id: 'tv' } });
    expect(grant.statusCode).toBe(400);
    expect(grant.json()).toMatchObject({ error: 'password_change_required', reset_token: expect.any(String), expires_in: 1800 });
    // The grant's token is newer: it voided the sign-in's.
    const old = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token: body.reset_token, password: NEW_PASSWORD } });
    expect(old.statusCode).toBe(400);
    const reset = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token: grant.json().reset_token, password: NEW_PASSWORD } });
    expect(reset.statusCode).toBe(204);
    expect((await c.h.deps.stores.users.findById(s.userId))?.passwordChangeRequired).toBe(false);
    await signinOk(c.h.app, { username: 'jade', password: NEW_PASSWORD });
  });

  it('with a second factor: the password step asks for it first; the second step answers 403 with a reset token, no session', async () => {
    const s = await account(c.h, 'lior');
    const address = await verifiedEmail(c.h, s);
    const STEP_MS = TOTP_PERIOD_SEC * 1000;
    c.h.clock.set(Math.ceil(c.h.clock.now() / STEP_MS) * STEP_MS + 1000);
    const enrol = await authed(c.h, s, 'POST', '/auth/mfa/totp', { password: STRONG_PASSWORD });
    const secret = enrol.json<{ secret: string }>().secret;
    expect((await authed(c.h, s, 'POST', '/auth/mfa/totp/confirm', { code: totpCodeAt(secret, c.h.clock.now()) })).statusCode).toBe(200);
    // Adding a factor is a security notification.
    await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Authenticator app turned on');
    c.h.clock.advance(STEP_MS);
    await requirePasswordChange(c.h.deps, s.userId, { adminId: 'admin-1' });
    const first = await c.h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'lior', password: STRONG_PASSWORD } });
    expect(first.statusCode).toBe(401);
    expect(first.json().code).toBe('mfa_required');
    const second = await c.h.app.inject({ method: 'POST', url: '/auth/signin/mfa', payload: { ticket: first.json().mfa_ticket, code: totpCodeAt(secret, c.h.clock.now()) } });
    expect(second.statusCode).toBe(403);
    expect(second.json()).toMatchObject({ code: 'password_change_required', reset_token: expect.any(String) });
    expect(second.headers['set-cookie']).toBeUndefined();
    const reset = await c.h.app.inject({ method: 'POST', url: '/auth/password/reset', payload: { token: second.json().reset_token, password: NEW_PASSWORD } });
    expect(reset.statusCode).toBe(204);
  });

  it('a password change through POST /auth/password clears it too', async () => {
    const s = await account(c.h, 'kira');
    await requirePasswordChange(c.h.deps, s.userId, { adminId: null });
    const res = await authed(c.h, s, 'POST', '/auth/password', { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD });
    expect(res.statusCode).toBe(204);
    expect((await c.h.deps.stores.users.findById(s.userId))?.passwordChangeRequired).toBe(false);
  });
});

describe('security notifications', () => {
  it('a new device, a password change: mailed to the verified address; a known device is not', async () => {
    const c = await harness();
    try {
      const s = await account(c.h, 'lena', 'laptop');
      const address = await verifiedEmail(c.h, s);
      await signinOk(c.h.app, { username: 'lena', password: STRONG_PASSWORD, device_id: 'laptop' });
      await signinOk(c.h.app, { username: 'lena', password: STRONG_PASSWORD, device_id: 'phone' });
      await mailOf(c.h.deps).settle();
      const signins = mailsTo(address, 'New sign-in to your account');
      expect(signins).toHaveLength(1);
      expect(signins[0]!.text).toContain('lena');
      const change = await authed(c.h, s, 'POST', '/auth/password', { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD });
      expect(change.statusCode).toBe(204);
      await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Your password was changed');
    } finally {
      await c.h.close();
    }
  });

  it('the user agent in a notification is quoted, short, and without separators or bidi characters', async () => {
    const c = await harness();
    try {
      const s = await account(c.h, 'uma', 'laptop');
      const address = await verifiedEmail(c.h, s);
      const ua = `Evil\u2028\u2029\u0085\u202e"This sign-in was our security check, nothing to do" ${'x'.repeat(300)}`;
      await signinOk(c.h.app, { username: 'uma', password: STRONG_PASSWORD, device_id: 'phone' }, { 'user-agent': ua });
      const mail = await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'New sign-in to your account');
      const from = mail.text.split('\n').find((l) => l.startsWith('From: '))!;
      expect(from).toMatch(/^From: [^,]+, browser "EvilThis sign-in was our security check, nothing to do x+…"$/);
      expect(from.length).toBeLessThan(200);
      expect(mail.text).not.toMatch(/[\u2028\u2029\u0085\u202e]/u);
    } finally {
      await c.h.close();
    }
  });

  it('a verified address the account leaves (replaced or removed) is told, without the new address; an unverified one is not', async () => {
    const c = await harness();
    try {
      const s = await account(c.h, 'otto');
      const first = await verifiedEmail(c.h, s);
      const second = addressFor('otto');
      expect((await authed(c.h, s, 'PUT', '/auth/email', { email: second, password: STRONG_PASSWORD })).statusCode).toBe(200);
      const changed = await smtp.waitFor((m) => m.to.includes(first) && m.subject === 'Your email address was changed');
      expect(changed.text).not.toContain(second);
      expect(changed.text).toMatch(/no longer receives/);
      // The new address is not verified yet: removing it tells nobody.
      expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: STRONG_PASSWORD })).statusCode).toBe(204);
      const third = await verifiedEmail(c.h, s);
      // Setting the same address again (it must be confirmed again) is no change of address.
      expect((await authed(c.h, s, 'PUT', '/auth/email', { email: third.toUpperCase(), password: STRONG_PASSWORD })).statusCode).toBe(200);
      const toThird = (m: { to: string[] }) => m.to.some((t) => t.toLowerCase() === third);
      const again = await smtp.waitFor((m) => toThird(m) && m.to[0] !== third && m.subject === 'Confirm your email address');
      expect((await c.h.app.inject({ method: 'POST', url: '/auth/email/verify', payload: { token: tokenIn(again.text) } })).statusCode).toBe(200);
      expect((await authed(c.h, s, 'DELETE', '/auth/email', { password: STRONG_PASSWORD })).statusCode).toBe(204);
      const removed = await smtp.waitFor((m) => toThird(m) && m.subject === 'Your email address was removed');
      expect(removed.text).toContain('otto');
      await mailOf(c.h.deps).settle();
      expect(mailsTo(second, 'Your email address was removed')).toHaveLength(0);
      expect(smtp.messages.filter((m) => toThird(m) && m.subject === 'Your email address was changed')).toHaveLength(0);
      expect(mailsTo(first)).toHaveLength(2);
    } finally {
      await c.h.close();
    }
  });

  it('email.notifications false: none', async () => {
    const c = await harness({ config: (cfg) => void (cfg.email.notifications = false) });
    try {
      const s = await account(c.h, 'mona', 'laptop');
      const address = await verifiedEmail(c.h, s);
      await signinOk(c.h.app, { username: 'mona', password: STRONG_PASSWORD, device_id: 'phone' });
      await mailOf(c.h.deps).settle();
      expect(mailsTo(address, 'New sign-in to your account')).toHaveLength(0);
    } finally {
      await c.h.close();
    }
  });
});
