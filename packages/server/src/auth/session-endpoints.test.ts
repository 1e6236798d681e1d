import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuthHarness,
  mintPassport,
  passportFor,
  setCookieLine,
  signinOk,
  signup,
  STRONG_PASSWORD,
  leakingBodies,
  type AuthHarness,
  type SignedIn,
} from './test-helpers.js';

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
  for (const name of ['erin', 'frank', 'gina', 'hank', 'ivy', 'jack']) expect((await signup(h.app, name)).statusCode).toBe(201);
});
afterAll(async () => {
  expect(h.bodies.length).toBeGreaterThan(10);
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, s: SignedIn | null, payload?: unknown) {
  const headers: Record<string, string> = s ? { 'x-passport': await passportFor(h.deps, s) } : {};
  return h.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

function expectCleared(res: Awaited<ReturnType<typeof call>>): void {
  for (const name of ['gatehouse_session', 'gatehouse_csrf']) {
    expect(setCookieLine(res, name)).toMatch(new RegExp(`^${name}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT`));
  }
}

describe('passport authentication', () => {
  it('refuses a request without x-passport: 401 unauthenticated + WWW-Authenticate', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'unauthenticated', status: 401 });
  });

  it.each([
    ['expired', { ttlSec: -30 }],
    ['for another service (aud notes)', { aud: 'notes' }],
    ['too old (iat 10 minutes ago)', { iatOffsetSec: -600, ttlSec: 1200 }],
  ])('refuses a passport that is %s', async (_l, options) => {
    const s = await signinOk(h.app, { username: 'erin', password: STRONG_PASSWORD });
    const token = await passportFor(h.deps, s, options);
    const res = await h.app.inject({ method: 'GET', url: '/auth/me', headers: { 'x-passport': token } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(res.json().code).toBe('unauthenticated');
  });

  it('refuses a forged or tampered passport and ignores session cookies', async () => {
    const s = await signinOk(h.app, { username: 'erin', password: STRONG_PASSWORD });
    const token = await passportFor(h.deps, s);
    const [head, payload, sig] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['admin'] })).toString('base64url');
    for (const bad of [`${head}.${forgedPayload}.${sig}`, `${head}.${payload}.`, 'not-a-jwt']) {
      const res = await h.app.inject({ method: 'GET', url: '/auth/me', headers: { 'x-passport': bad } });
      expect(res.statusCode).toBe(401);
    }
    const cookieOnly = await h.app.inject({ method: 'GET', url: '/auth/me', headers: { cookie: `gatehouse_session=${s.secret}` } });
    expect(cookieOnly.statusCode).toBe(401);
  });
});

describe('GET /auth/me', () => {
  it('answers the user entity read from the store', async () => {
    const s = await signinOk(h.app, { username: 'erin', password: STRONG_PASSWORD });
    await h.deps.stores.users.setRoles(s.userId, ['staff'], h.clock.now());
    const res = await call('GET', '/auth/me', s); // passport still says roles: []
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ id: s.userId, username: 'erin', roles: ['staff'] });
  });

  it('401 when the user no longer exists', async () => {
    const token = await mintPassport(h.deps, { sub: 'no-such-user', username: 'ghost', roles: [], sid: 'x', did: 'y' });
    const res = await h.app.inject({ method: 'GET', url: '/auth/me', headers: { 'x-passport': token } });
    expect(res.statusCode).toBe(401);
  });
});

describe('POST /auth/signout', () => {
  it('ends this session only, publishes its revocation and clears the cookies', async () => {
    const a = await signinOk(h.app, { username: 'frank', password: STRONG_PASSWORD });
    const b = await signinOk(h.app, { username: 'frank', password: STRONG_PASSWORD });
    h.events.length = 0;
    const res = await call('POST', '/auth/signout', a);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['cache-control']).toBe('no-store');
    expectCleared(res);
    expect(await h.deps.stores.sessions.findById(a.sid)).toBeNull();
    expect(await h.deps.stores.sessions.findById(b.sid)).not.toBeNull();
    expect(h.events).toEqual([{ type: 'session', sid: a.sid, at: h.clock.now() }]);
    expect(await h.deps.stores.revocations.since(h.clock.now() - 1)).toContainEqual({ type: 'session', sid: a.sid, at: h.clock.now() });
    // Told to the proxying gateway too, which drops it before relaying (issue 11 item 17).
    expect(JSON.parse(String(res.headers['x-gatehouse-revoked']))).toEqual(h.events);
  });

  it('needs a passport', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/auth/signout' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['x-gatehouse-revoked']).toBeUndefined();
  });
});

describe('POST /auth/signout-all', () => {
  it('ends every session of the user (not other users’), revokes each and the user', async () => {
    const a = await signinOk(h.app, { username: 'gina', password: STRONG_PASSWORD, device_id: 'phone' });
    const b = await signinOk(h.app, { username: 'gina', password: STRONG_PASSWORD, device_id: 'laptop' });
    const other = await signinOk(h.app, { username: 'hank', password: STRONG_PASSWORD });
    h.clock.advance(1000);
    h.events.length = 0;
    const res = await call('POST', '/auth/signout-all', a);
    expect(res.statusCode).toBe(204);
    expectCleared(res);
    expect(await h.deps.stores.sessions.listByUser(a.userId)).toEqual([]);
    expect(await h.deps.stores.sessions.findById(other.sid)).not.toBeNull();
    const now = h.clock.now();
    expect(h.events).toEqual(
      expect.arrayContaining([
        { type: 'session', sid: a.sid, at: now },
        { type: 'session', sid: b.sid, at: now },
        { type: 'user', userId: a.userId, notBefore: now, at: now },
      ]),
    );
    expect(h.events).toHaveLength(3);
    expect(await h.deps.stores.revocations.since(now - 1)).toContainEqual({ type: 'user', userId: a.userId, notBefore: now, at: now });
    expect(JSON.parse(String(res.headers['x-gatehouse-revoked']))).toEqual(h.events);
  });
});

describe('GET /auth/sessions', () => {
  it('lists the caller’s live sessions with ISO times and marks the current one', async () => {
    const a = await signinOk(h.app, { username: 'ivy', password: STRONG_PASSWORD, device_id: 'ivy-phone', device_name: 'Phone' });
    h.clock.advance(60_000);
    const b = await signinOk(h.app, { username: 'ivy', password: STRONG_PASSWORD, device_id: 'ivy-laptop' });
    await signinOk(h.app, { username: 'jack', password: STRONG_PASSWORD });
    const res = await call('GET', '/auth/sessions', a);
    expect(res.statusCode).toBe(200);
    const list = res.json() as Array<Record<string, unknown>>;
    expect(list).toHaveLength(2);
    expect(list.map((x) => x.id)).toEqual([b.sid, a.sid]); // most recent first
    expect(list[1]).toEqual({
      id: a.sid,
      device_id: 'ivy-phone',
      device_name: 'Phone',
      created_at: new Date(h.clock.now() - 60_000).toISOString(),
      last_seen_at: new Date(h.clock.now() - 60_000).toISOString(),
      current: true,
    });
    expect(list[0]).toMatchObject({ id: b.sid, device_name: null, current: false });
    for (const s of list) expect(Object.keys(s).sort()).toEqual(['created_at', 'current', 'device_id', 'device_name', 'id', 'last_seen_at']);
    expect(res.body).not.toMatch(/token|csrf|hash/i);
  });

  it('omits expired sessions', async () => {
    const a = await signinOk(h.app, { username: 'ivy', password: STRONG_PASSWORD, device_id: 'short', remember: false });
    h.clock.advance(25 * 3600 * 1000); // past the 24 h browser-session lifetime
    const b = await signinOk(h.app, { username: 'ivy', password: STRONG_PASSWORD, device_id: 'fresh' });
    const list = (await call('GET', '/auth/sessions', b)).json() as Array<{ id: string }>;
    expect(list.map((x) => x.id)).not.toContain(a.sid);
    expect(list.map((x) => x.id)).toContain(b.sid);
  });
});

describe('DELETE /auth/sessions/:id', () => {
  it('signs out one of the caller’s other devices and publishes its revocation', async () => {
    const a = await signinOk(h.app, { username: 'jack', password: STRONG_PASSWORD, device_id: 'j1' });
    const b = await signinOk(h.app, { username: 'jack', password: STRONG_PASSWORD, device_id: 'j2' });
    h.events.length = 0;
    const res = await call('DELETE', `/auth/sessions/${b.sid}`, a);
    expect(res.statusCode).toBe(204);
    expect(setCookieLine(res, 'gatehouse_session')).toBeUndefined(); // not the current session
    expect(await h.deps.stores.sessions.findById(b.sid)).toBeNull();
    expect(await h.deps.stores.sessions.findById(a.sid)).not.toBeNull();
    expect(h.events).toEqual([{ type: 'session', sid: b.sid, at: h.clock.now() }]);
  });

  it('deleting the current session clears the cookies', async () => {
    const a = await signinOk(h.app, { username: 'jack', password: STRONG_PASSWORD, device_id: 'j3' });
    const res = await call('DELETE', `/auth/sessions/${a.sid}`, a);
    expect(res.statusCode).toBe(204);
    expectCleared(res);
  });

  it('another user’s session answers 404 not_found, exactly like a missing one, and survives', async () => {
    const mine = await signinOk(h.app, { username: 'jack', password: STRONG_PASSWORD, device_id: 'j4' });
    const theirs = await signinOk(h.app, { username: 'hank', password: STRONG_PASSWORD, device_id: 'h2' });
    h.events.length = 0;
    const res = await call('DELETE', `/auth/sessions/${theirs.sid}`, mine);
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('not_found');
    const missing = await call('DELETE', '/auth/sessions/does-not-exist', mine);
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe(res.body);
    expect(await h.deps.stores.sessions.findById(theirs.sid)).not.toBeNull();
    expect(h.events).toEqual([]);
  });
});

describe('POST /auth/password', () => {
  it('changes the password and ends every other session, not the current one', async () => {
    await signup(h.app, 'kate');
    const current = await signinOk(h.app, { username: 'kate', password: STRONG_PASSWORD, device_id: 'k1' });
    const other1 = await signinOk(h.app, { username: 'kate', password: STRONG_PASSWORD, device_id: 'k2' });
    const other2 = await signinOk(h.app, { username: 'kate', password: STRONG_PASSWORD, device_id: 'k3' });
    h.events.length = 0;
    const res = await call('POST', '/auth/password', current, { current_password: STRONG_PASSWORD, new_password: 'brand-new-lantern-77' });
    expect(res.statusCode).toBe(204);
    expect(await h.deps.stores.sessions.findById(current.sid)).not.toBeNull();
    expect(await h.deps.stores.sessions.findById(other1.sid)).toBeNull();
    expect(await h.deps.stores.sessions.findById(other2.sid)).toBeNull();
    expect(h.events).toHaveLength(2);
    expect(h.events).toEqual(
      expect.arrayContaining([
        { type: 'session', sid: other1.sid, at: h.clock.now() },
        { type: 'session', sid: other2.sid, at: h.clock.now() },
      ]),
    );
    const oldPw = await h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'kate', password: STRONG_PASSWORD } });
    expect(oldPw.statusCode).toBe(401);
    await signinOk(h.app, { username: 'kate', password: 'brand-new-lantern-77' });
  });

  it('a wrong current password: 401 invalid_credentials, nothing changes', async () => {
    await signup(h.app, 'liam');
    const s = await signinOk(h.app, { username: 'liam', password: STRONG_PASSWORD, device_id: 'l1' });
    const other = await signinOk(h.app, { username: 'liam', password: STRONG_PASSWORD, device_id: 'l2' });
    const res = await call('POST', '/auth/password', s, { current_password: 'wrong-password-here', new_password: 'brand-new-lantern-77' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('invalid_credentials');
    expect(await h.deps.stores.sessions.findById(other.sid)).not.toBeNull();
    await signinOk(h.app, { username: 'liam', password: STRONG_PASSWORD, device_id: 'l3' });
  });

  it('wrong current passwords are limited like sign-ins: the 6th try is 429 even when right', async () => {
    await signup(h.app, 'nils');
    const s = await signinOk(h.app, { username: 'nils', password: STRONG_PASSWORD });
    for (let i = 0; i < 5; i++) {
      expect((await call('POST', '/auth/password', s, { current_password: `wrong-guess-${i}-xx`, new_password: 'brand-new-lantern-77' })).statusCode).toBe(401);
    }
    const locked = await call('POST', '/auth/password', s, { current_password: STRONG_PASSWORD, new_password: 'brand-new-lantern-77' });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    // The password did not change.
    await signinOk(h.app, { username: 'nils', password: STRONG_PASSWORD });
  });

  it('a weak new password: 400 weak_password, nothing changes', async () => {
    await signup(h.app, 'mona');
    const s = await signinOk(h.app, { username: 'mona', password: STRONG_PASSWORD });
    const res = await call('POST', '/auth/password', s, { current_password: STRONG_PASSWORD, new_password: 'password1' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('weak_password');
    await signinOk(h.app, { username: 'mona', password: STRONG_PASSWORD });
  });

  it('needs a passport', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/auth/password',
      payload: { current_password: STRONG_PASSWORD, new_password: 'brand-new-lantern-77' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });
});
