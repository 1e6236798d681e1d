import type { FastifyRequest } from 'fastify';
import type { PassportClaims } from '@gatehouse/sdk';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword, type UserRecord } from '../../stores/types.js';
import { admitHash, checkHashAdmission, verifyPassword, type HashRequest } from '../auth-context.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { rateLimited } from '../rate-limit.js';

/** How recent a password-less user's sign-in must be to change their passkeys (until step-up lands). */
export const RECENT_SIGNIN_MS = 10 * 60 * 1000;

/**
 * Proof, in the request itself, that the person changing a sign-in factor is the account's
 * owner and not someone holding a stolen session (i17 §4): the current password for a user who
 * has one (wrong guesses limited like a password change: `signin.maxFailures` per
 * `signin.lockWindowSec`, through the hashing queue's admission); for a password-less
 * (federated) user, a session signed in within the last ten minutes. The latter is the gap
 * step-up (the session's auth_time, issue 17 part A) closes for every kind of sign-in.
 */
export async function requireReauthentication(
  { deps, auth }: EndpointContext,
  request: FastifyRequest,
  user: UserRecord,
  passport: PassportClaims,
  password: string | undefined,
): Promise<void> {
  if (!hasPassword(user)) {
    const session = passport.sid === undefined ? null : await deps.stores.sessions.findById(passport.sid);
    if (session === null || deps.clock.now() - session.createdAt > RECENT_SIGNIN_MS) {
      throw new GatehouseError('forbidden', { detail: 'Sign in again (within the last 10 minutes) to change your passkeys.' });
    }
    return;
  }
  if (password === undefined || password === '') {
    throw new GatehouseError('invalid_credentials', { detail: 'Enter your current password to change your passkeys.' });
  }
  const { maxFailures, lockWindowSec } = deps.config.signin;
  const key = `reauth:user:${user.id}`;
  const hashReq: HashRequest = { lane: 'normal', request, username: user.usernameCanonical };
  checkHashAdmission(auth, hashReq);
  const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
  if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many wrong current passwords.');
  if (!(await verifyPassword(auth, user.passwordHash, password, admitHash(auth, hashReq)))) {
    deps.logger.warn({ event: 'reauth.failure', userId: user.id, username: user.usernameCanonical, ip: clientIp(request) }, 'passkey change refused: wrong current password');
    throw new GatehouseError('invalid_credentials', { detail: 'The current password is wrong.' });
  }
  await deps.stores.rateLimits.reset(key);
}
