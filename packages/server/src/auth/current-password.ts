import type { FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import type { UserRecord } from '../stores/types.js';
import { admitHash, checkHashAdmission, verifyPassword, type AuthContext, type HashRequest } from './auth-context.js';
import { clientIp } from './client-ip.js';
import { rateLimited } from './rate-limit.js';

/** Where a current-password check happens: its lock and the words of its log line and refusals. */
export interface CurrentPasswordCheck {
  /**
   * The lock's name: guesses are counted per user under `<lock>:user:<id>` (`signin.maxFailures`
   * per `signin.lockWindowSec`). `password-change` is shared by the password change, the email
   * change and re-authentication, so a stolen session gets one budget of guesses at the password
   * whichever of them it tries; second-factor changes count under `mfa-change`.
   */
  lock: 'password-change' | 'mfa-change';
  /** The log line's event and message for a wrong password. */
  event: string;
  message: string;
  /** The refusal's detail for a wrong password (default: 'The current password is wrong.'). */
  wrong?: string;
}

/**
 * The current password of a signed-in user who changes something that protects the account (the
 * password, the email address, second factors) or re-authenticates: one attempt is reserved on
 * the lock before hashing, like a sign-in, and a success clears the count, so someone holding a
 * stolen session cannot guess without limit. The hash goes through the queue's admission (normal
 * lane: 503 busy rather than a long wait). Throws 429 `rate_limited` past the lock, 401
 * `invalid_credentials` for a wrong password. Returns the admitted hash request, for a caller
 * that hashes a new password next. The caller makes sure the user has a password.
 */
export async function checkCurrentPassword(auth: AuthContext, request: FastifyRequest, user: UserRecord, password: string, check: CurrentPasswordCheck): Promise<HashRequest> {
  const { deps } = auth;
  const { maxFailures, lockWindowSec } = deps.config.signin;
  const key = `${check.lock}:user:${user.id}`;
  const hashReq: HashRequest = { lane: 'normal', request, username: user.usernameCanonical };
  checkHashAdmission(auth, hashReq);
  const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
  if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many wrong current passwords.');
  if (!(await verifyPassword(auth, user.passwordHash, password, admitHash(auth, hashReq)))) {
    deps.logger.warn({ event: check.event, userId: user.id, username: user.usernameCanonical, ip: clientIp(request) }, check.message);
    throw new GatehouseError('invalid_credentials', { detail: check.wrong ?? 'The current password is wrong.' });
  }
  await deps.stores.rateLimits.reset(key);
  return hashReq;
}
