import type { FastifyRequest } from 'fastify';
import { hashSecret } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import { isDisabled, type RateLimitRule, type UserRecord } from '../stores/types.js';
import { admitHash, checkHashAdmission, verifyPassword, type AuthContext, type HashRequest } from './auth-context.js';
import { clientIp } from './client-ip.js';
import { knownDeviceFor } from './device-cookie.js';
import { secondFactorsOf, type SecondFactor } from './mfa/factors.js';
import { canonicalUsername } from './policy/username.js';
import { limitPerIp, rateLimited } from './rate-limit.js';

export type SigninVia = 'signin' | 'password_grant';

export interface SigninAttempt {
  username: string;
  password: string;
  via: SigninVia;
  /** The device id the attempt names (body), for the security log. */
  deviceId?: string | undefined;
}

export type SigninCheck =
  /** `factors`: the user's second factors (issue 17); non-empty: the sign-in is not done, its lock count was kept (see `checkSecondStep`). */
  | { ok: true; user: UserRecord; canonical: string; knownDevice: boolean; factors: SecondFactor[] }
  | { ok: false; canonical: string };

/** The counter key of an account: a hash, so unknown names (often mistyped passwords) are not kept as such. */
function accountKey(canonical: string): string {
  return `signin:account:${hashSecret(canonical)}`;
}

/**
 * Forgets the account's sign-in failures (its per-account lock): a password reset proved the
 * account's owner (issue 18), who must be able to sign in with the new password at once.
 * Known-device budgets run out by themselves.
 */
export async function clearSigninLock(deps: Pick<AuthContext['deps'], 'stores'>, canonical: string): Promise<void> {
  await deps.stores.rateLimits.reset(accountKey(canonical));
}

function deviceKey(canonical: string, nonce: string): string {
  return `signin:device:${hashSecret(canonical)}:${nonce}`;
}

/**
 * Checks a username and password for `POST /auth/signin` and the password grant, behind the
 * abuse limits (DESIGN §3):
 * 1. the per-IP limit (`signin.perIpPerMinute`, 429);
 * 2. the per-account budget: one attempt is RESERVED atomically before any hashing, per
 *    canonical username, known or not (`signin.maxFailures` per `signin.lockWindowSec`). A
 *    refused reservation answers 429 at once, with no hash computed, whatever the password;
 *    so N parallel guesses check at most `maxFailures` passwords. A browser with a valid device
 *    cookie for this account draws on its own budget (`signin.knownDeviceMaxFailures`) instead;
 * 3. the password (a dummy hash for an unknown user), through the admission of the hashing
 *    queue (auth-context.ts `admitHash`): a sign-in with a valid device cookie for this account
 *    runs in the known-device lane, ahead of the rest; past the lane's expected-wait bound, or
 *    beyond its address's or username's share, 503 `busy` with Retry-After at once. The wait
 *    and the address's share are checked once before the budget (a refusal then costs no
 *    point); the place is taken right after it, with the username's share (so guesses beyond
 *    the lock still get 429). A success frees its budget; a failure keeps the reserved point; an
 *    attempt that ends with no answer about the password (user store away, 503 busy) gives it back.
 * Returns `{ok: false}` for a wrong username or password; the caller answers in its own shape.
 */
export async function checkSignin(auth: AuthContext, request: FastifyRequest, attempt: SigninAttempt): Promise<SigninCheck> {
  // gatehouse_signins_total{outcome}: counted here, where every sign-in (page and password grant) ends.
  const metrics = auth.metrics;
  const state = { locked: false };
  try {
    const check = await checkSigninOnce(auth, request, attempt, state);
    metrics.signin(check.ok ? 'success' : 'failure');
    return check;
  } catch (err) {
    const code = err instanceof GatehouseError ? err.code : undefined;
    if (state.locked) metrics.signin('locked');
    else if (code === 'rate_limited') metrics.signin('rate_limited');
    else if (code === 'busy') metrics.signin('busy');
    throw err;
  }
}

async function checkSigninOnce(auth: AuthContext, request: FastifyRequest, attempt: SigninAttempt, state: { locked: boolean }): Promise<SigninCheck> {
  const { deps } = auth;
  const cfg = deps.config.signin;
  await limitPerIp(deps, request, 'signin', cfg.perIpPerMinute);

  const canonical = canonicalUsername(attempt.username);
  const device = knownDeviceFor(deps, request, canonical);
  const key = device ? deviceKey(canonical, device.nonce) : accountKey(canonical);
  const rule: RateLimitRule = { points: device ? cfg.knownDeviceMaxFailures : cfg.maxFailures, durationSec: cfg.lockWindowSec };
  const hashReq: HashRequest = { lane: device ? 'known_device' : 'normal', request, username: canonical };
  checkHashAdmission(auth, hashReq);

  const reserved = await deps.stores.rateLimits.consume(key, rule);
  if (!reserved.allowed) {
    state.locked = true;
    // Record the lock once (at its first refusal), not once per refused guess.
    if (reserved.consumed === rule.points + 1) {
      // In the background: the answer must not take longer for an existing account.
      const retryAfterSec = Math.ceil(reserved.retryAfterMs / 1000);
      auth.backgroundAudit.record(request, async () => {
        const user = await deps.stores.users.findByCanonical(canonical);
        if (!user) {
          deps.logger.info({ event: 'signin.locked', username_known: false, via: attempt.via, ip: clientIp(request) }, 'sign-in locked');
          return null;
        }
        return {
          type: 'signin.locked',
          userId: user.id,
          deviceId: attempt.deviceId ?? null,
          detail: { via: attempt.via, known_device: device !== null, retry_after_sec: retryAfterSec },
        };
      });
    }
    throw rateLimited(
      reserved.retryAfterMs,
      device ? 'Too many failed sign-ins from this browser for this account.' : 'Too many failed sign-ins for this account.',
    );
  }

  let user: UserRecord | null;
  let ok: boolean;
  try {
    const ticket = admitHash(auth, hashReq);
    try {
      user = await deps.stores.users.findByCanonical(canonical);
      ok = await verifyPassword(auth, user?.passwordHash ?? null, attempt.password, ticket);
    } finally {
      ticket.release();
    }
  } catch (err) {
    // No answer about the password (user store away, hash queue full): the attempt must not count
    // against the account, or a user retrying through an outage is locked out once it ends.
    await deps.stores.rateLimits.refund(key, rule).catch(() => undefined);
    throw err;
  }
  // A disabled account (issue 18) answers exactly as a wrong password: nothing tells a guesser
  // (or the user) that the password was right, and the attempt counts like a wrong one.
  const disabled = user !== null && isDisabled(user);
  if (user && ok && !disabled) {
    // A user with a second factor has not signed in yet: a right password gives its own point
    // back but does not clear the count (only a right second step does, checkSecondStep), so
    // it cannot wipe the wrong codes and give unlimited guesses at them.
    const factors = await secondFactorsOf(deps, user.id);
    if (factors.length === 0) await deps.stores.rateLimits.reset(key);
    else await deps.stores.rateLimits.refund(key, rule);
    return { ok: true, user, canonical, knownDevice: device !== null, factors };
  }
  if (user) {
    // In the background: an awaited write would make failures slower for existing usernames.
    auth.backgroundAudit.record(request, {
      type: 'signin.failure',
      userId: user.id,
      deviceId: attempt.deviceId ?? null,
      detail: { via: attempt.via, reason: disabled ? 'account_disabled' : 'wrong_password', known_device: device !== null, attempts_left: reserved.remaining },
    });
  } else {
    // Never the name itself: unknown "usernames" are often passwords typed in the wrong box.
    deps.logger.info(
      { event: 'signin.failure', username_known: false, via: attempt.via, ip: clientIp(request), deviceId: attempt.deviceId ?? null },
      'sign-in failed',
    );
  }
  return { ok: false, canonical };
}

/**
 * The second step of a sign-in (issue 17: a one-time code or a recovery code), behind the same
 * per-IP limit and the same per-account (or per known device) lock as the password: a point is
 * reserved before `verify` runs; a wrong code keeps it (429 once the budget is spent, whatever
 * the code), a right one clears the count. `verify` answers whether the code was right (and
 * took it: a code is accepted once).
 */
export async function checkSecondStep(
  auth: AuthContext,
  request: FastifyRequest,
  user: UserRecord,
  via: SigninVia,
  verify: () => Promise<boolean>,
): Promise<{ ok: boolean; attemptsLeft: number; knownDevice: boolean }> {
  const { deps } = auth;
  const cfg = deps.config.signin;
  await limitPerIp(deps, request, 'signin', cfg.perIpPerMinute);
  const canonical = user.usernameCanonical;
  const device = knownDeviceFor(deps, request, canonical);
  const key = device ? deviceKey(canonical, device.nonce) : accountKey(canonical);
  const rule: RateLimitRule = { points: device ? cfg.knownDeviceMaxFailures : cfg.maxFailures, durationSec: cfg.lockWindowSec };
  const reserved = await deps.stores.rateLimits.consume(key, rule);
  if (!reserved.allowed) {
    auth.metrics.signin('locked');
    throw rateLimited(reserved.retryAfterMs, device ? 'Too many failed sign-ins from this browser for this account.' : 'Too many failed sign-ins for this account.');
  }
  let ok: boolean;
  try {
    ok = await verify();
  } catch (err) {
    await deps.stores.rateLimits.refund(key, rule).catch(() => undefined);
    throw err;
  }
  if (ok) {
    await deps.stores.rateLimits.reset(key);
    return { ok: true, attemptsLeft: rule.points, knownDevice: device !== null };
  }
  auth.metrics.signin('failure');
  return { ok: false, attemptsLeft: reserved.remaining, knownDevice: device !== null };
}
