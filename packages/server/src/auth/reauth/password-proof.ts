import { GatehouseError } from '../../errors/index.js';
import { NO_PASSWORD } from '../../stores/types.js';
import { admitHash, checkHashAdmission, verifyPassword, type HashRequest } from '../auth-context.js';
import { clientIp } from '../endpoint-context.js';
import { rateLimited } from '../rate-limit.js';
import { AMR_PASSWORD } from '../sessions.js';
import type { ReauthProof } from './reauth.js';

/**
 * The password as a re-authentication proof (`pwd`). Guesses share the lock of a password change
 * (`password-change:user:<id>`, `signin.maxFailures` per `signin.lockWindowSec`): someone holding a
 * stolen session gets one budget of guesses at the password, whichever endpoint they try.
 */
export const passwordProof: ReauthProof = {
  field: 'password',
  schema: { type: 'string', minLength: 1, maxLength: 16384 },
  async verify({ deps, auth, request }, user, value) {
    if (typeof value !== 'string') throw new GatehouseError('invalid_request', { detail: 'password must be a string.' });
    if (user.passwordHash === NO_PASSWORD) {
      throw new GatehouseError('invalid_credentials', { detail: 'This account has no password: sign in again through its identity provider.' });
    }
    const { maxFailures, lockWindowSec } = deps.config.signin;
    const key = `password-change:user:${user.id}`;
    const hashReq: HashRequest = { lane: 'normal', request, username: user.usernameCanonical };
    checkHashAdmission(auth, hashReq);
    const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
    if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many wrong passwords.');
    if (!(await verifyPassword(auth, user.passwordHash, value, admitHash(auth, hashReq)))) {
      deps.logger.warn({ event: 'reauth.failure', userId: user.id, username: user.usernameCanonical, ip: clientIp(request) }, 're-authentication refused: wrong password');
      throw new GatehouseError('invalid_credentials', { detail: 'The password is wrong.' });
    }
    await deps.stores.rateLimits.reset(key);
    return AMR_PASSWORD;
  },
};
