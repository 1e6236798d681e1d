import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword, NO_PASSWORD } from '../../stores/types.js';
import { createAuthHarness, signup, type AuthHarness } from '../test-helpers.js';
import { resolveIdentity, type AccountRules, type ResolveContext } from './accounts.js';
import type { ExternalIdentity } from './identity.js';

let h: AuthHarness;
let ctx: ResolveContext;
beforeAll(async () => {
  h = await createAuthHarness();
  ctx = { deps: h.deps, request: null, deviceId: 'laptop-1' };
});
afterAll(async () => {
  await h.close();
});

let n = 0;
function ext(over: Partial<ExternalIdentity> = {}): ExternalIdentity {
  return { provider: 'google', subject: `g-${++n}`, email: null, emailVerified: false, preferredUsername: null, displayName: null, ...over };
}
const SIGNUP: AccountRules = { allowSignup: true, linkByVerifiedEmail: false };
const NO_SIGNUP: AccountRules = { allowSignup: false, linkByVerifiedEmail: false };
const BY_EMAIL: AccountRules = { allowSignup: true, linkByVerifiedEmail: true };
const SIGNIN = { kind: 'signin' } as const;

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  return (err as GatehouseError).code;
}

async function eventsOf(userId: string) {
  return (await h.deps.stores.audit.listByUser(userId, 50)).map((e) => ({ type: e.type, detail: e.detail, deviceId: e.deviceId }));
}

/** An existing account whose identity at `provider` has a verified `email`. */
async function accountWithEmail(email: string, provider = 'gitlab'): Promise<string> {
  const { user } = await resolveIdentity(ctx, ext({ provider, email, emailVerified: true }), SIGNUP, SIGNIN);
  return user.id;
}

describe('resolveIdentity, sign-in', () => {
  beforeEach(() => {
    h.clock.advance(1000);
  });

  it('an unknown identity with allowSignup creates a password-less user named after preferred_username, links it and logs it', async () => {
    const id = ext({ preferredUsername: 'Grace.Hopper', email: 'grace@example.com', emailVerified: true });
    const { user, outcome } = await resolveIdentity(ctx, id, SIGNUP, SIGNIN);
    expect(outcome).toBe('created');
    expect(user).toMatchObject({ username: 'Grace.Hopper', usernameCanonical: 'grace.hopper', roles: [], passwordHash: NO_PASSWORD });
    expect(hasPassword(user)).toBe(false);
    expect(await h.deps.stores.users.findById(user.id)).toEqual(user);
    expect(await h.deps.stores.identities.findBySubject('google', id.subject)).toMatchObject({ userId: user.id, email: 'grace@example.com', emailVerified: true });
    expect(await eventsOf(user.id)).toEqual([
      { type: 'signin.success', detail: { provider: 'google', method: 'federation' }, deviceId: 'laptop-1' },
      { type: 'identity.linked', detail: { provider: 'google', via: 'signup' }, deviceId: 'laptop-1' },
      { type: 'signup', detail: { provider: 'google' }, deviceId: 'laptop-1' },
    ]);
  });

  it('the same identity again signs in to the same user, records the use and the email given this time', async () => {
    const id = ext({ preferredUsername: 'linus' });
    const first = await resolveIdentity(ctx, id, SIGNUP, SIGNIN);
    h.clock.advance(60_000);
    const again = await resolveIdentity(ctx, { ...id, email: 'linus@example.org', emailVerified: true }, NO_SIGNUP, SIGNIN);
    expect(again).toEqual({ user: first.user, outcome: 'existing' });
    expect(await h.deps.stores.identities.findBySubject('google', id.subject)).toMatchObject({ lastUsedAt: h.clock.now(), email: 'linus@example.org', emailVerified: true });
    expect((await eventsOf(first.user.id)).filter((e) => e.type === 'signin.success')).toHaveLength(2);
    expect((await h.deps.stores.users.list()).filter((u) => u.username.startsWith('linus'))).toHaveLength(1);
  });

  it('a username that is taken, or looks like one that is, gets a suffix; no suggestion: the email local part; neither: "user"', async () => {
    expect((await signup(h.app, 'margaret')).statusCode).toBe(201);
    const taken = await resolveIdentity(ctx, ext({ preferredUsername: 'Margaret' }), SIGNUP, SIGNIN);
    expect(taken.user.username).toMatch(/^Margaret-\d{5}$/);
    // Cyrillic "а" in "аdmin"-style look-alikes: never beside the real one.
    expect((await signup(h.app, 'ada')).statusCode).toBe(201);
    const lookalike = await resolveIdentity(ctx, ext({ preferredUsername: 'аda' }), SIGNUP, SIGNIN);
    expect(lookalike.user.username).toMatch(/^аda-\d{5}$/);
    const fromEmail = await resolveIdentity(ctx, ext({ email: 'Katherine.Johnson+nasa@example.com' }), SIGNUP, SIGNIN);
    expect(fromEmail.user.username).toBe('Katherine.Johnson-nasa');
    const spaces = await resolveIdentity(ctx, ext({ preferredUsername: '  two words\u200b ' }), SIGNUP, SIGNIN);
    expect(spaces.user.username).toBe('two-words');
    const nothing = await resolveIdentity(ctx, ext(), SIGNUP, SIGNIN);
    expect(nothing.user.username).toMatch(/^user(-\d{5})?$/);
    const short = await resolveIdentity(ctx, ext({ preferredUsername: 'jo' }), SIGNUP, SIGNIN);
    expect(short.user.username).toMatch(/^user-jo(-\d{5})?$/);
  });

  it('an unknown identity without allowSignup is refused (signup_disabled) and nothing is written', async () => {
    const before = (await h.deps.stores.users.list()).length;
    const id = ext({ preferredUsername: 'nobody-new' });
    expect(await codeOf(resolveIdentity(ctx, id, NO_SIGNUP, SIGNIN))).toBe('signup_disabled');
    expect((await h.deps.stores.users.list()).length).toBe(before);
    expect(await h.deps.stores.identities.findBySubject('google', id.subject)).toBeNull();
  });

  it('linkByVerifiedEmail: a verified email that exactly one account has links to that account and signs in', async () => {
    const owner = await accountWithEmail('Ruth@Example.com');
    const id = ext({ provider: 'google', email: 'ruth@example.COM', emailVerified: true });
    const { user, outcome } = await resolveIdentity(ctx, id, { allowSignup: false, linkByVerifiedEmail: true }, SIGNIN);
    expect(outcome).toBe('linked');
    expect(user.id).toBe(owner);
    expect((await h.deps.stores.identities.listForUser(owner)).map((i) => i.provider).sort()).toEqual(['gitlab', 'google']);
    expect((await eventsOf(owner)).slice(0, 2)).toEqual([
      { type: 'signin.success', detail: { provider: 'google', method: 'federation' }, deviceId: 'laptop-1' },
      { type: 'identity.linked', detail: { provider: 'google', via: 'verified_email' }, deviceId: 'laptop-1' },
    ]);
  });

  it('ATTACK: an UNVERIFIED email that matches an existing account never links to it (a new account, or refused)', async () => {
    const victim = await accountWithEmail('victim@example.com');
    const attacker = ext({ provider: 'evil-idp', email: 'victim@example.com', emailVerified: false, preferredUsername: 'victim' });
    const made = await resolveIdentity(ctx, attacker, BY_EMAIL, SIGNIN);
    expect(made.outcome).toBe('created');
    expect(made.user.id).not.toBe(victim);
    expect(await h.deps.stores.identities.listForUser(victim)).toHaveLength(1);
    const attacker2 = ext({ provider: 'evil-idp', email: 'VICTIM@example.com', emailVerified: false });
    expect(await codeOf(resolveIdentity(ctx, attacker2, { allowSignup: false, linkByVerifiedEmail: true }, SIGNIN))).toBe('signup_disabled');
    expect(await h.deps.stores.identities.listForUser(victim)).toHaveLength(1);
  });

  it('linkByVerifiedEmail off (the default): a verified matching email does not link', async () => {
    const owner = await accountWithEmail('off@example.com');
    const id = ext({ provider: 'google', email: 'off@example.com', emailVerified: true });
    expect(await codeOf(resolveIdentity(ctx, id, NO_SIGNUP, SIGNIN))).toBe('signup_disabled');
    const made = await resolveIdentity(ctx, id, SIGNUP, SIGNIN);
    expect(made.user.id).not.toBe(owner);
    expect(await h.deps.stores.identities.listForUser(owner)).toHaveLength(1);
  });

  it('linkByVerifiedEmail: a verified email two accounts have links to neither', async () => {
    const a = await accountWithEmail('shared@example.com', 'gitlab');
    const b = await accountWithEmail('shared@example.com', 'bitbucket');
    const id = ext({ email: 'shared@example.com', emailVerified: true });
    expect(await codeOf(resolveIdentity(ctx, id, { allowSignup: false, linkByVerifiedEmail: true }, SIGNIN))).toBe('signup_disabled');
    for (const u of [a, b]) expect(await h.deps.stores.identities.listForUser(u)).toHaveLength(1);
  });

  it('N parallel first sign-ins of one identity create ONE user, and every one signs in to it', async () => {
    const id = ext({ preferredUsername: 'racer' });
    const results = await Promise.all(Array.from({ length: 8 }, () => resolveIdentity(ctx, id, SIGNUP, SIGNIN)));
    const ids = new Set(results.map((r) => r.user.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect((await h.deps.stores.users.list()).filter((u) => u.usernameCanonical.startsWith('racer'))).toHaveLength(1);
  });
});

describe('resolveIdentity, link mode', () => {
  it('links an identity to the signed-in user; linking it again is idempotent', async () => {
    expect((await signup(h.app, 'annie')).statusCode).toBe(201);
    const annie = (await h.deps.stores.users.findByCanonical('annie'))!;
    const id = ext({ provider: 'github', email: 'annie@example.com', emailVerified: true });
    const linked = await resolveIdentity(ctx, id, NO_SIGNUP, { kind: 'link', userId: annie.id });
    expect(linked).toEqual({ user: annie, outcome: 'linked' });
    const again = await resolveIdentity(ctx, id, NO_SIGNUP, { kind: 'link', userId: annie.id });
    expect(again).toEqual({ user: annie, outcome: 'existing' });
    expect(await h.deps.stores.identities.listForUser(annie.id)).toHaveLength(1);
    expect((await eventsOf(annie.id)).filter((e) => e.type === 'identity.linked')).toEqual([{ type: 'identity.linked', detail: { provider: 'github', via: 'account' }, deviceId: 'laptop-1' }]);
    // Then it signs in to annie.
    expect((await resolveIdentity(ctx, id, NO_SIGNUP, SIGNIN)).user.id).toBe(annie.id);
  });

  it('ATTACK (linking CSRF): an identity that belongs to another user is refused (identity_taken) and stays where it was', async () => {
    const { user: owner } = await resolveIdentity(ctx, ext({ provider: 'github', subject: 'owned' }), SIGNUP, SIGNIN);
    expect((await signup(h.app, 'victor')).statusCode).toBe(201);
    const victor = (await h.deps.stores.users.findByCanonical('victor'))!;
    expect(await codeOf(resolveIdentity(ctx, ext({ provider: 'github', subject: 'owned' }), SIGNUP, { kind: 'link', userId: victor.id }))).toBe('identity_taken');
    expect((await h.deps.stores.identities.findBySubject('github', 'owned'))!.userId).toBe(owner.id);
    expect(await h.deps.stores.identities.listForUser(victor.id)).toEqual([]);
  });
});
