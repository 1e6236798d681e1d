/**
 * The account half of federation (issue 15): turns a verified `ExternalIdentity` (from the
 * provider half, `identity.ts`) into a Gatehouse user, by the provider's rules. The callback
 * endpoint calls `resolveIdentity` and then creates the device session as a password sign-in
 * does; the account page's link flow calls it in `link` mode with the signed-in user.
 */
import type { FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { randomId } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { IdentityTakenError, isDisabled, NO_PASSWORD, UsernameTakenError, type IdentityRecord, type UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { USERNAME_MAX, validateUsername } from '../policy/username.js';
import type { ExternalIdentity } from './identity.js';

/** A provider's account rules (`federation.providers[].allowSignup` / `.linkByVerifiedEmail`). */
export interface AccountRules {
  /** An unknown identity may create a new user. */
  readonly allowSignup: boolean;
  /**
   * An unknown identity whose provider verified its email is linked to the one user who has an
   * identity with that verified email. Off by default: it trusts every such provider's word
   * about email ownership (docs/federation.md, *Linking by email*).
   */
  readonly linkByVerifiedEmail: boolean;
}

/** `signin`: the callback of a sign-in; `link`: a signed-in user (`userId`) adding this provider. */
export type ResolveMode = { readonly kind: 'signin' } | { readonly kind: 'link'; readonly userId: string };

export interface ResolveContext {
  readonly deps: Deps;
  /** For the activity log (client IP, user agent); null outside a request. */
  readonly request: FastifyRequest | null;
  /** The device the sign-in is for, when known (activity log). */
  readonly deviceId?: string | null;
}

/**
 * `existing`: the identity was linked to this user already (sign-in, or linking it again);
 * `created`: a new user was created and linked; `linked`: linked to an existing user now (link
 * mode, or sign-in by a verified email with `linkByVerifiedEmail`).
 */
export type ResolveOutcome = 'existing' | 'created' | 'linked';

/** How many generated usernames are tried before giving up (each with a random suffix after the first). */
const USERNAME_TRIES = 8;

/**
 * Resolves a verified external identity to a user, or throws a GatehouseError:
 * - `invalid_credentials` (401): the identity's user no longer exists (as a password sign-in of a removed user);
 * - `signup_disabled` (403): sign-in of an unknown identity when the provider does not create accounts;
 * - `identity_taken` (409): link mode, the identity belongs to another user.
 * Never links an identity to an existing account by email unless `linkByVerifiedEmail` is on
 * AND the provider verified the email AND exactly one user has an identity with that verified email.
 * Every sign-in, link and created user is recorded in the activity log.
 */
export async function resolveIdentity(ctx: ResolveContext, identity: ExternalIdentity, rules: AccountRules, mode: ResolveMode): Promise<{ user: UserRecord; outcome: ResolveOutcome }> {
  const { deps } = ctx;
  const known = await deps.stores.identities.findBySubject(identity.provider, identity.subject);

  if (mode.kind === 'link') {
    if (known !== null && known.userId !== mode.userId) throw identityTaken(ctx, identity, mode.userId);
    const user = await userOf(ctx, mode.userId);
    if (known !== null) return { user, outcome: 'existing' };
    try {
      const done = await deps.stores.identities.link(newRecord(deps, identity, user.id));
      if (done === 'already') return { user, outcome: 'existing' };
    } catch (err) {
      if (err instanceof IdentityTakenError) throw identityTaken(ctx, identity, mode.userId);
      throw err;
    }
    await audit(ctx, 'identity.linked', user.id, identity, { via: 'account' });
    return { user, outcome: 'linked' };
  }

  if (known !== null) return signIn(ctx, identity, known.userId, 'existing');

  if (rules.linkByVerifiedEmail && identity.emailVerified && identity.email !== null && identity.email.trim() !== '') {
    const owners = new Set((await deps.stores.identities.listByVerifiedEmail(identity.email)).map((i) => i.userId));
    if (owners.size === 1) {
      const userId = [...owners][0]!;
      try {
        const done = await deps.stores.identities.link(newRecord(deps, identity, userId));
        if (done === 'linked') {
          await audit(ctx, 'identity.linked', userId, identity, { via: 'verified_email' });
          return signIn(ctx, identity, userId, 'linked');
        }
        return signIn(ctx, identity, userId, 'existing');
      } catch (err) {
        // A parallel sign-in of the same identity linked it first: sign in as its user.
        if (!(err instanceof IdentityTakenError)) throw err;
        return signInAsLinked(ctx, identity, err);
      }
    }
  }

  if (!rules.allowSignup) {
    deps.logger.info({ event: 'federation.signup_refused', provider: identity.provider }, 'federated sign-in refused: unknown identity and sign-ups are off for this provider');
    throw new GatehouseError('signup_disabled', {
      detail: 'No account is linked to this sign-in, and this provider does not create new accounts. Sign in another way and link it on your account page under "Sign-in methods".',
    });
  }
  return createAccount(ctx, identity);
}

function newRecord(deps: Deps, identity: ExternalIdentity, userId: string): IdentityRecord {
  const now = deps.clock.now();
  return { provider: identity.provider, subject: identity.subject, userId, email: identity.email, emailVerified: identity.emailVerified, createdAt: now, lastUsedAt: now };
}

function identityTaken(ctx: ResolveContext, identity: ExternalIdentity, userId: string): GatehouseError {
  ctx.deps.logger.warn({ event: 'federation.link_refused', provider: identity.provider, userId }, 'link refused: the external identity belongs to another user');
  return new GatehouseError('identity_taken', {
    detail: 'This account at the provider is linked to another user. Sign in as that user and remove it under "Sign-in methods" first, or link another account.',
  });
}

async function userOf(ctx: ResolveContext, userId: string): Promise<UserRecord> {
  const user = await ctx.deps.stores.users.findById(userId);
  if (user === null) {
    // Identities go with their user; a dangling one answers like a password sign-in of a removed user.
    throw new GatehouseError('invalid_credentials', { detail: 'This account no longer exists. Sign up again, or ask an administrator.' });
  }
  // Disabled (issue 18): the answer of a wrong password sign-in, nothing more.
  if (isDisabled(user)) throw new GatehouseError('invalid_credentials');
  return user;
}

async function signIn(ctx: ResolveContext, identity: ExternalIdentity, userId: string, outcome: ResolveOutcome): Promise<{ user: UserRecord; outcome: ResolveOutcome }> {
  const user = await userOf(ctx, userId);
  const now = ctx.deps.clock.now();
  await ctx.deps.stores.identities.touch(identity.provider, identity.subject, now, { email: identity.email, emailVerified: identity.emailVerified });
  await audit(ctx, 'signin.success', user.id, identity, { method: 'federation' });
  return { user, outcome };
}

async function signInAsLinked(ctx: ResolveContext, identity: ExternalIdentity, cause: IdentityTakenError): Promise<{ user: UserRecord; outcome: ResolveOutcome }> {
  const now = await ctx.deps.stores.identities.findBySubject(identity.provider, identity.subject);
  if (now === null) throw new GatehouseError('unavailable', { detail: 'Another sign-in of this account was changing it at the same moment; try again.', cause });
  return signIn(ctx, identity, now.userId, 'existing');
}

/** The user part of a username suggestion: refused characters become "-", cut to fit, at least 3 characters. */
function usernameBase(identity: ExternalIdentity): string {
  const raw = identity.preferredUsername ?? identity.email?.split('@')[0] ?? '';
  const cleaned = raw
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}._-]+/gu, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  // Room for a "-12345" suffix.
  let base = [...cleaned].slice(0, USERNAME_MAX - 6).join('');
  if ([...base].length < 3) base = base === '' ? 'user' : `user-${base}`;
  try {
    return validateUsername(base).display;
  } catch {
    return 'user';
  }
}

async function createAccount(ctx: ResolveContext, identity: ExternalIdentity): Promise<{ user: UserRecord; outcome: ResolveOutcome }> {
  const { deps } = ctx;
  const base = usernameBase(identity);
  for (let attempt = 0; attempt < USERNAME_TRIES; attempt++) {
    const name = attempt === 0 ? base : `${base}-${10000 + Math.floor(Math.random() * 90000)}`;
    const { display, canonical } = validateUsername(name);
    // Taken, or looks like one that is (sign-up's rule): try another suffix.
    if ((await deps.stores.users.findByCanonical(canonical)) !== null || (await deps.stores.users.findLookalike(display)) !== null) continue;
    const now = deps.clock.now();
    // A deleted account's name, still quarantined (docs/data-deletion.md): another suffix too.
    if (await deps.stores.users.isQuarantined(canonical, display, now)) continue;
    const user: UserRecord = { id: randomId(), username: display, usernameCanonical: canonical, passwordHash: NO_PASSWORD, roles: [], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
    try {
      await deps.stores.identities.createUserWithIdentity(user, newRecord(deps, identity, user.id));
    } catch (err) {
      if (err instanceof UsernameTakenError) continue;
      // A parallel first sign-in of the same identity created its user first: that is the one.
      if (err instanceof IdentityTakenError) return signInAsLinked(ctx, identity, err);
      throw err;
    }
    deps.logger.info({ event: 'user.created', userId: user.id, username: canonical, provider: identity.provider }, 'user created through an identity provider');
    await audit(ctx, 'signup', user.id, identity, {});
    await audit(ctx, 'identity.linked', user.id, identity, { via: 'signup' });
    await audit(ctx, 'signin.success', user.id, identity, { method: 'federation' });
    return { user, outcome: 'created' };
  }
  throw new GatehouseError('unavailable', { detail: 'Could not find a free username for the new account; try again.' });
}

async function audit(
  ctx: ResolveContext,
  type: 'signin.success' | 'signup' | 'identity.linked',
  userId: string,
  identity: ExternalIdentity,
  detail: Record<string, string>,
): Promise<void> {
  await recordAudit(ctx.deps, ctx.request, { type, userId, deviceId: ctx.deviceId ?? null, detail: { provider: identity.provider, ...detail } });
}
