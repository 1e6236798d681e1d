import { GatehouseError } from '../../errors/index.js';
import { clientIp } from '../endpoint-context.js';
import { takeSecondFactor } from '../mfa/factors.js';
import { rateLimited } from '../rate-limit.js';
import type { ReauthProof } from './reauth.js';

/**
 * A one-time code of the user's authenticator app as a re-authentication proof (`otp`). With the
 * password in the same request the session's amr becomes `pwd otp mfa` (combinedAmr): the way a
 * session from before the app was set up steps up for an `mfa: true` route. The code is taken
 * like a sign-in's (its time step once, on every instance); guesses share the password proof's
 * lock (`password-change:user:<id>`), so the two together get one budget.
 */
export const totpProof: ReauthProof = {
  field: 'code',
  schema: { type: 'string', minLength: 1, maxLength: 64 },
  async verify({ deps, request }, user, value) {
    if (typeof value !== 'string') throw new GatehouseError('invalid_request', { detail: 'code must be a string.' });
    const { maxFailures, lockWindowSec } = deps.config.signin;
    const key = `password-change:user:${user.id}`;
    const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
    if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many wrong codes or passwords.');
    if ((await takeSecondFactor(deps, user.id, { code: value })) !== 'totp') {
      deps.logger.warn({ event: 'reauth.failure', userId: user.id, username: user.usernameCanonical, ip: clientIp(request), proof: 'code' }, 're-authentication refused: wrong or used one-time code');
      throw new GatehouseError('invalid_mfa_code', { detail: 'The one-time code is wrong, or its time step was used already: wait for the next code.' });
    }
    await deps.stores.rateLimits.reset(key);
    return ['otp'];
  },
};
