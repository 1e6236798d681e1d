import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashSecret } from '../crypto/secrets.js';
import {
  createAuthHarness,
  setCookieLine,
  setCookieLines,
  signin,
  signinOk,
  signup,
  STRONG_PASSWORD,
  leakingBodies,
  type AuthHarness,
} from './test-helpers.js';

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
  expect((await signup(h.app, 'Carol')).statusCode).toBe(201);
});
afterAll(async () => {
  expect(h.bodies.length).toBeGreaterThan(10);
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

describe('POST /auth/signin', () => {
  it('answers 200 {user, session, csrf_token} and sets the session, CSRF and device cookies', async () => {
    const res = await signin(h.app, { username: 'carol', password: STRONG_PASSWORD, device_name: 'Firefox on Linux' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body.user).toEqual({ id: expect.any(String), username: 'Carol', roles: [] });
    expect(Object.keys(body.session).sort()).toEqual(['device_id', 'expires_at', 'id']);
    expect(new Date(body.session.expires_at).toISOString()).toBe(body.session.expires_at);
    // persistent by default: sliding 30 days from now
    expect(Date.parse(body.session.expires_at)).toBe(h.clock.now() + 30 * 24 * 3600 * 1000);
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const session = setCookieLine(res, 'gatehouse_session')!;
    expect(session).toMatch(/^gatehouse_session=[A-Za-z0-9_-]{43};/);
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).toMatch(/; SameSite=Lax/i);
    expect(session).toMatch(/; Path=\//);
    expect(session).toMatch(/; Max-Age=7776000/); // lives until the absolute expiry (90 days)
    expect(session).not.toMatch(/Secure/i); // http publicUrl

    const csrf = setCookieLine(res, 'gatehouse_csrf')!;
    expect(csrf).toBe(`gatehouse_csrf=${body.csrf_token}; Max-Age=7776000; Path=/; SameSite=Lax`);

    const device = setCookieLine(res, 'gatehouse_device')!;
    expect(device).toMatch(/HttpOnly/i);
    expect(device).toMatch(/SameSite=Lax/i);
    expect(device).toMatch(/Max-Age=34560000/);
    expect(device).toContain(`gatehouse_device=${body.session.device_id};`);

    // Only the hash of the secret is stored.
    const secret = res.cookies.find((c) => c.name === 'gatehouse_session')!.value;
    const stored = await h.deps.stores.sessions.findById(body.session.id);
    expect(stored?.tokenHash).toBe(hashSecret(secret));
    expect(stored?.deviceName).toBe('Firefox on Linux');
    expect(stored?.csrfToken).toBe(body.csrf_token);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(body)).not.toContain(secret);
  });

  it('remember:false: browser-session cookies (no Max-Age/Expires) and the short server-side lifetime', async () => {
    const res = await signin(h.app, { username: 'carol', password: STRONG_PASSWORD, remember: false });
    expect(res.statusCode).toBe(200);
    for (const name of ['gatehouse_session', 'gatehouse_csrf']) {
      const line = setCookieLine(res, name)!;
      expect(line).not.toMatch(/Max-Age/i);
      expect(line).not.toMatch(/Expires/i);
    }
    expect(setCookieLine(res, 'gatehouse_session')).toMatch(/HttpOnly/i);
    const body = res.json();
    expect(Date.parse(body.session.expires_at)).toBe(h.clock.now() + 24 * 3600 * 1000);
    const stored = await h.deps.stores.sessions.findById(body.session.id);
    expect(stored?.persistent).toBe(false);
    expect(stored?.absoluteExpiresAt).toBe(h.clock.now() + 90 * 24 * 3600 * 1000);
  });

  it('a new session id and secret on every sign-in', async () => {
    const a = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD });
    const b = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD });
    expect(a.sid).not.toBe(b.sid);
    expect(a.secret).not.toBe(b.secret);
    expect(a.csrfToken).not.toBe(b.csrfToken);
    expect(a.deviceId).not.toBe(b.deviceId); // no device cookie sent: two devices
  });

  it('the same device_id replaces that device’s session and publishes its revocation', async () => {
    const first = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD, device_id: 'tv-livingroom' });
    h.events.length = 0;
    const second = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD, device_id: 'tv-livingroom' });
    expect(second.sid).not.toBe(first.sid);
    expect(second.deviceId).toBe('tv-livingroom');
    expect(await h.deps.stores.sessions.findById(first.sid)).toBeNull();
    expect(await h.deps.stores.sessions.findById(second.sid)).not.toBeNull();
    expect(h.events).toEqual([{ type: 'session', sid: first.sid, at: h.clock.now() }]);
    const durable = await h.deps.stores.revocations.since(0);
    expect(durable).toContainEqual({ type: 'session', sid: first.sid, at: h.clock.now() });
    // a device id from the body is not written into the device cookie
    expect(setCookieLine(second.res, 'gatehouse_device')).toBeUndefined();
  });

  it('uses the gatehouse_device cookie when the body names no device, and replaces that device’s session', async () => {
    const first = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD }, { cookie: 'gatehouse_device=browser-abc' });
    expect(first.deviceId).toBe('browser-abc');
    const second = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD }, { cookie: 'gatehouse_device=browser-abc' });
    expect(second.deviceId).toBe('browser-abc');
    expect(await h.deps.stores.sessions.findById(first.sid)).toBeNull();
    // a malformed device cookie is ignored (a new device id is made)
    const third = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD }, { cookie: 'gatehouse_device=bad%20id' });
    expect(third.deviceId).not.toBe('bad id');
  });

  it('unknown user and wrong password: same status, byte-identical body, and a dummy hash is verified', async () => {
    const { hasher, dummyHash } = h.auth;
    const dummy = await dummyHash;
    const spy = vi.spyOn(hasher, 'verify');
    try {
      const t0 = performance.now();
      const unknown = await signin(h.app, { username: 'nobody-here', password: STRONG_PASSWORD });
      const t1 = performance.now();
      const wrong = await signin(h.app, { username: 'carol', password: 'not-the-password-1' });
      const t2 = performance.now();
      expect(unknown.statusCode).toBe(401);
      expect(wrong.statusCode).toBe(401);
      expect(unknown.body).toBe(wrong.body);
      expect(unknown.headers['content-type']).toBe(wrong.headers['content-type']);
      expect(unknown.json()).toMatchObject({ code: 'invalid_credentials', status: 401 });
      expect(setCookieLines(unknown)).toEqual([]);
      expect(setCookieLines(wrong)).toEqual([]);
      // Both paths ran exactly one argon2 verification; the unknown user against the dummy hash.
      expect(spy).toHaveBeenCalledTimes(2);
      expect(spy.mock.calls[0]![0]).toBe(dummy);
      expect(spy.mock.calls[1]![0]).not.toBe(dummy);
      // ...so they take comparable time (generous factor against CI noise).
      const a = t1 - t0;
      const b = t2 - t1;
      expect(Math.max(a, b) / Math.min(a, b)).toBeLessThan(5);
    } finally {
      spy.mockRestore();
    }
  });

  it('the dummy hash is a real argon2id hash with the same parameters', async () => {
    expect(await h.auth.dummyHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('matches the username case- and width-insensitively', async () => {
    expect((await signin(h.app, { username: 'ＣＡＲＯＬ', password: STRONG_PASSWORD })).statusCode).toBe(200);
  });

  it.each([
    ['a control character', { device_id: 'tv\u0000' }, /device_id/],
    ['a zero-width character', { device_id: 'tv\u200B' }, /device_id/],
    ['a space', { device_id: 'my tv' }, /device_id/],
    ['too long', { device_id: 'x'.repeat(129) }, /device_id/],
    ['an empty name', { device_name: '' }, /device_name/],
    ['a line break in the name', { device_name: 'a\u2028b' }, /device_name/],
  ])('refuses a device field with %s: 400 invalid_body naming it', async (_l, extra, field) => {
    const res = await signin(h.app, { username: 'carol', password: STRONG_PASSWORD, ...extra });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_body');
    expect(res.json().detail).toMatch(field);
  });

  it('accepts printable device names with spaces and non-ASCII', async () => {
    const s = await signinOk(h.app, { username: 'carol', password: STRONG_PASSWORD, device_name: 'Zoë’s iPhone 15' });
    expect((await h.deps.stores.sessions.findById(s.sid))?.deviceName).toBe('Zoë’s iPhone 15');
  });

  it('Secure, __Host-/__Secure- prefixed cookies only when the public URL is https', async () => {
    const https = await createAuthHarness({ publicUrl: 'https://auth.example.test' });
    try {
      await signup(https.app, 'dave');
      const res = await signin(https.app, { username: 'dave', password: STRONG_PASSWORD });
      expect(res.statusCode).toBe(200);
      for (const name of ['__Host-gatehouse_session', '__Host-gatehouse_csrf', '__Host-gatehouse_device']) {
        expect(setCookieLine(res, name)).toMatch(/; Secure/);
        expect(setCookieLine(res, name)).toMatch(/; Path=\/(;|$)/);
        expect(setCookieLine(res, name)).not.toMatch(/Domain=/i);
      }
      expect(setCookieLine(res, '__Secure-gatehouse_known_device')).toMatch(/; Secure/);
      expect(setCookieLine(res, 'gatehouse_session')).toBeUndefined();
      // The device cookie is read back under its prefixed name (the bare one is not believed).
      const device = res.cookies.find((c) => c.name === '__Host-gatehouse_device')!.value;
      const again = await signin(https.app, { username: 'dave', password: STRONG_PASSWORD }, { cookie: `__Host-gatehouse_device=${device}` });
      expect((again.json() as { session: { device_id: string } }).session.device_id).toBe(device);
      const bare = await signin(https.app, { username: 'dave', password: STRONG_PASSWORD }, { cookie: `gatehouse_device=${device}` });
      expect((bare.json() as { session: { device_id: string } }).session.device_id).not.toBe(device);
    } finally {
      await https.close();
    }
  });
});
