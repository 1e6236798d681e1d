import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthHarness, signinOk, signup, STRONG_PASSWORD, leakingBodies, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
});
afterAll(async () => {
  expect(h.bodies.length).toBeGreaterThan(10);
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

describe('POST /auth/signup', () => {
  it('creates a user: 201 {id, username}, no-store, hash stored (never the password)', async () => {
    const res = await signup(h.app, 'Alice', STRONG_PASSWORD);
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['id', 'username']);
    expect(body.username).toBe('Alice');
    const stored = await h.deps.stores.users.findByCanonical('alice');
    expect(stored?.id).toBe(body.id);
    expect(stored?.roles).toEqual([]);
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(stored?.passwordHash).not.toContain(STRONG_PASSWORD);
  });

  it('keeps the NFC display form and stores the canonical one', async () => {
    const res = await signup(h.app, 'Jose\u0301Maria');
    expect(res.statusCode).toBe(201);
    expect(res.json().username).toBe('JoséMaria');
    const stored = await h.deps.stores.users.findByCanonical('josémaria');
    expect(stored?.username).toBe('JoséMaria');
  });

  it.each([
    ['upper case', 'ALICE'],
    ['full-width', 'Ａｌｉｃｅ'],
    ['mixed', 'aLiCe'],
  ])('refuses a %s variant of a taken name with 409 username_taken', async (_l, variant) => {
    const res = await signup(h.app, variant);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'username_taken', status: 409 });
  });

  it.each([
    ['zero-width space', 'bo\u200Bb'],
    ['bidi override', 'bob\u202Egpj.exe'],
    ['control character', 'bo\u0001b'],
    ['too short', 'bo'],
    ['too long', 'b'.repeat(65)],
    ['space', 'bob smith'],
  ])('refuses a username with a %s: 400 invalid_username with a detail', async (_l, username) => {
    const res = await signup(h.app, username);
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.code).toBe('invalid_username');
    expect(body.detail).toMatch(/username/);
    expect(await h.deps.stores.users.findByCanonical(username.toLowerCase())).toBeNull();
  });

  it.each([
    ['too short', 'Xq7!zP2', 'weak_password', /at least 8/],
    ['common', 'iloveyou', 'weak_password', /commonly used/],
    ['common (any case)', 'IloveYou', 'weak_password', /commonly used/],
    ['the username', 'Dorothea-Quill', 'weak_password', /username/],
    ['trivially guessable', 'aaaaaaaaaaaa', 'weak_password', /too easy/],
    ['too long', 'x7Q-'.repeat(1024) + 'y', 'invalid_password', /at most 4096/],
  ])('refuses a %s password', async (_l, password, code, detail) => {
    const res = await signup(h.app, 'dorothea-quill', password);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code });
    expect(res.json().detail).toMatch(detail);
    expect(await h.deps.stores.users.findByCanonical('dorothea-quill')).toBeNull();
  });

  it('accepts a 1024-character password in full: the 1025th character matters (no truncation)', async () => {
    const base = Array.from({ length: 1024 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 11) % 36]).join('');
    const res = await signup(h.app, 'longpass', base + '!');
    expect(res.statusCode).toBe(201);
    expect((await signinOk(h.app, { username: 'longpass', password: base + '!' })).userId).toBe(res.json().id);
    const wrong = await h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'longpass', password: base + '?' } });
    expect(wrong.statusCode).toBe(401);
    const prefix = await h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'longpass', password: base } });
    expect(prefix.statusCode).toBe(401);
  });

  it('refuses a look-alike of a taken name (UTS #39 skeleton) with username_taken and says so', async () => {
    expect((await signup(h.app, 'admin')).statusCode).toBe(201);
    for (const name of ['\u0430dmin', 'ADM\u0406N', '\u03b1dmin', 'adrnin', '\uff41\u0501min']) {
      const res = await signup(h.app, name);
      expect(res.statusCode, name).toBe(409);
      expect(res.json()).toMatchObject({ code: 'username_taken' });
      expect(res.json().detail).toMatch(/looks the same as one that is taken/);
    }
    expect(await h.deps.stores.users.findByCanonical('\u0430dmin')).toBeNull();
    // A plain taken name keeps its plain answer.
    expect((await signup(h.app, 'Admin')).json().detail).not.toMatch(/looks the same/);
    expect((await signup(h.app, 'g00gle')).statusCode).toBe(201);
    expect((await signup(h.app, 'GOOGLE')).statusCode).toBe(409);
  });

  it('look-alikes the canonical form hides: a capital I shown for an l (either one first), a dot above an i; names typed apart stay apart', async () => {
    const lookalike = async (name: string) => {
      const res = await signup(h.app, name);
      expect(res.statusCode, name).toBe(409);
      expect(res.json().detail, name).toMatch(/looks the same as one that is taken/);
    };
    expect((await signup(h.app, 'malika')).statusCode).toBe(201);
    await lookalike('maIika'); // shown "maIika": reads "malika"
    await lookalike('MaIika');
    expect((await signup(h.app, 'bIake')).statusCode).toBe(201); // the look-alike first...
    await lookalike('blake'); // ...then the real name is taken by it
    expect((await signup(h.app, 'dmitri')).statusCode).toBe(201);
    await lookalike('dmitri\u0307'); // i + combining dot above shows as "i"
    await lookalike('dm\u0131\u0307tri'); // dotless i + dot above
    // Typed in lower case, "i" and "l" are told apart on screen: both names register.
    for (const name of ['ian', 'lan', 'ella', 'elia']) expect((await signup(h.app, name)).statusCode, name).toBe(201);
  });

  it('names in one script that resemble nothing taken still register: Cyrillic, Japanese, Greek', async () => {
    for (const name of ['\u0430\u0434\u043c\u0438\u043d', '\u5c71\u7530\u592a\u90ce', '\u3084\u307e\u3060', '\u03c3\u03bf\u03c6\u03b9\u03b1', '\u0412\u043b\u0430\u0434\u0438\u043c\u0438\u0440']) {
      expect((await signup(h.app, name)).statusCode, name).toBe(201);
    }
  });

  it('parallel sign-ups of a name and its look-alike: one account', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => signup(h.app, i % 2 ? 'paypal' : '\u0440\u0430\u0443\u0440\u0430l')));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(results.filter((r) => r.statusCode === 409)).toHaveLength(9);
  });

  it('50 parallel sign-ups of one name: exactly one 201, 49 409, one row', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => signup(h.app, 'RaceName')));
    const statuses = results.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().code).toBe('username_taken');
    const rows = (await h.deps.stores.users.list()).filter((u) => u.usernameCanonical === 'racename');
    expect(rows).toHaveLength(1);
  });

  it('leaves no trace when refused', async () => {
    const before = (await h.deps.stores.users.list()).length;
    await signup(h.app, 'ghost', 'password');
    await signup(h.app, 'gh\u200Bost');
    expect((await h.deps.stores.users.list()).length).toBe(before);
  });
});
