import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRecord } from '../stores/types.js';
import { resolveIdentity } from './federation/accounts.js';
import { createAuthHarness, leakingBodies, mintPassport, signin, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

/*
 * Issue 15: "username … made unique, changeable later". POST /auth/username with the sign-up
 * rules; the old name stops signing in (like an unknown user), the new one works.
 */

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

async function user(name: string): Promise<UserRecord> {
  expect((await signup(h.app, name)).statusCode).toBe(201);
  return (await h.deps.stores.users.findByCanonical(name.toLowerCase()))!;
}

async function rename(u: UserRecord, username: string) {
  const passport = await mintPassport(h.deps, { sub: u.id, username: u.username, roles: u.roles, sid: 'sid-r', did: 'dev-r' });
  return h.app.inject({ method: 'POST', url: '/auth/username', headers: { 'x-passport': passport }, payload: { username } });
}

describe('POST /auth/username', () => {
  it('renames: 200 {username}; the new name signs in, the old one answers exactly like an unknown user; recorded with old and new', async () => {
    const u = await user('rename-me');
    const res = await rename(u, 'Renamed-One');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: 'Renamed-One' });
    const after = await h.deps.stores.users.findById(u.id);
    expect(after).toMatchObject({ username: 'Renamed-One', usernameCanonical: 'renamed-one', passwordHash: u.passwordHash, roles: u.roles });
    expect((await signin(h.app, { username: 'renamed-one', password: STRONG_PASSWORD })).statusCode).toBe(200);
    const old = await signin(h.app, { username: 'rename-me', password: STRONG_PASSWORD });
    const unknown = await signin(h.app, { username: 'never-existed-x', password: STRONG_PASSWORD });
    expect(old.statusCode).toBe(401);
    expect(old.body).toBe(unknown.body);
    const events = await h.deps.stores.audit.listByUser(u.id, 50);
    const changed = events.filter((e) => e.type === 'username.changed');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ deviceId: 'dev-r', detail: { old: 'rename-me', new: 'Renamed-One' } });
    // The old name is free for anyone again.
    expect((await signup(h.app, 'rename-me')).statusCode).toBe(201);
  });

  it('the same name again: 200, nothing written, nothing recorded; another case of the own name is a rename', async () => {
    const u = await user('same-name');
    const res = await rename(u, 'same-name');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ username: 'same-name' });
    expect(await h.deps.stores.users.findById(u.id)).toEqual(u);
    const cased = await rename(u, 'Same-Name');
    expect(cased.statusCode).toBe(200);
    expect((await h.deps.stores.users.findById(u.id))?.username).toBe('Same-Name');
    expect((await h.deps.stores.audit.listByUser(u.id, 50)).filter((e) => e.type === 'username.changed')).toHaveLength(1);
  });

  it('the sign-up rules: too short, too long, a space, an invisible character -> 400 invalid_username with what is wrong; nothing changes', async () => {
    const u = await user('rules-user');
    for (const bad of ['ab', 'x'.repeat(65), 'two words', 'zero\u200bwidth', 'tab\tname']) {
      const res = await rename(u, bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code, bad).toBe('invalid_username');
      expect(res.json().detail, bad).toMatch(/username/);
    }
    expect(await h.deps.stores.users.findById(u.id)).toEqual(u);
  });

  it("another user's name (any case) -> 409 username_taken, the sign-up code; nothing changes", async () => {
    await user('Taken-Name');
    const u = await user('wants-taken');
    const res = await rename(u, 'TAKEN-name');
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('username_taken');
    // The name itself is taken: said plainly, not as a look-alike.
    expect(res.json().detail).not.toMatch(/looks the same/);
    expect(await h.deps.stores.users.findById(u.id)).toEqual(u);
  });

  it("a name that looks like another user's (Cyrillic а, 0 for o, rn for m) -> 409 username_taken saying why", async () => {
    await user('admirer');
    await user('bolton');
    const u = await user('spoofer');
    for (const lookalike of ['\u0430dmirer', 'adrnirer', 'b0lton']) {
      const res = await rename(u, lookalike);
      expect(res.statusCode, lookalike).toBe(409);
      expect(res.json().code).toBe('username_taken');
      expect(res.json().detail).toMatch(/looks the same/);
    }
    expect(await h.deps.stores.users.findById(u.id)).toEqual(u);
  });

  it('a federated user (name from the provider, made unique) renames; a look-alike of its OWN name is allowed', async () => {
    const { user: fed } = await resolveIdentity(
      { deps: h.deps, request: null },
      { provider: 'google', subject: 'sub-rename', email: 'picked@example.com', emailVerified: true, preferredUsername: 'picked', displayName: null },
      { allowSignup: true, linkByVerifiedEmail: false },
      { kind: 'signin' },
    );
    const res = await rename(fed, 'p1cked');
    expect(res.statusCode).toBe(200);
    expect((await h.deps.stores.users.findById(fed.id))?.usernameCanonical).toBe('p1cked');
  });

  it('two users racing for one free name: one 200, the other 409', async () => {
    const a = await user('racer-a');
    const b = await user('racer-b');
    const [ra, rb] = await Promise.all([rename(a, 'finish-line'), rename(b, 'finish-line')]);
    expect([ra.statusCode, rb.statusCode].sort()).toEqual([200, 409]);
  });

  it('another instance takes the name between the checks and the write: the unique index decides, 409 username_taken (not 500)', async () => {
    const u = await user('slow-checker');
    const users = h.deps.stores.users;
    const { findByCanonical, findLookalike } = users;
    // As if the checks ran just before another instance's user got the name.
    users.findByCanonical = (c) => (c === 'sniped-name' ? Promise.resolve(null) : findByCanonical.call(users, c));
    users.findLookalike = (n) => (n === 'sniped-name' ? Promise.resolve(null) : findLookalike.call(users, n));
    try {
      await user('sniped-name');
      const res = await rename(u, 'sniped-name');
      expect(res.statusCode).toBe(409);
      expect(res.json().code).toBe('username_taken');
    } finally {
      users.findByCanonical = findByCanonical;
      users.findLookalike = findLookalike;
    }
    expect(await h.deps.stores.users.findById(u.id)).toEqual(u);
  });

  it('shares the sign-up per-IP budget (both tell whether a name is taken): past signup.perIpPerMinute, 429 saying so', async () => {
    const limited = await createAuthHarness({ abuseLimits: 'defaults', config: (c) => (c.signup.perIpPerMinute = 3) });
    try {
      const ip = { 'x-gatehouse-client-ip': '203.0.113.9' };
      const signupRes = await limited.app.inject({ method: 'POST', url: '/auth/signup', headers: ip, payload: { username: 'budget-user', password: STRONG_PASSWORD } });
      expect(signupRes.statusCode).toBe(201);
      const u = (await limited.deps.stores.users.findByCanonical('budget-user'))!;
      const passport = await mintPassport(limited.deps, { sub: u.id, username: u.username, roles: [], sid: 's', did: 'd' });
      const probe = (username: string) => limited.app.inject({ method: 'POST', url: '/auth/username', headers: { ...ip, 'x-passport': passport }, payload: { username } });
      expect((await probe('probe-one')).statusCode).toBe(200);
      expect((await probe('probe-two')).statusCode).toBe(200);
      const over = await probe('probe-three');
      expect(over.statusCode).toBe(429);
      expect(over.json().code).toBe('rate_limited');
      expect(over.json().detail).toMatch(/username-change attempts .*Try again in \d+ second/);
      // Another address is not affected.
      const elsewhere = await limited.app.inject({ method: 'POST', url: '/auth/username', headers: { 'x-gatehouse-client-ip': '198.51.100.4', 'x-passport': passport }, payload: { username: 'probe-four' } });
      expect(elsewhere.statusCode).toBe(200);
      expect(leakingBodies(limited)).toEqual([]);
    } finally {
      await limited.close();
    }
  });

  it('without a passport: 401; a body with other fields: 400', async () => {
    const anon = await h.app.inject({ method: 'POST', url: '/auth/username', payload: { username: 'whoever' } });
    expect(anon.statusCode).toBe(401);
    const u = await user('strict-body');
    const passport = await mintPassport(h.deps, { sub: u.id, username: u.username, roles: [], sid: 's', did: 'd' });
    const extra = await h.app.inject({ method: 'POST', url: '/auth/username', headers: { 'x-passport': passport }, payload: { username: 'strict-two', roles: ['admin'] } });
    expect(extra.statusCode).toBe(400);
  });
});
