import { GatehouseError } from '../../errors/index.js';
import { hasPassword } from '../../stores/types.js';
import { AMR_PASSWORD } from '../sessions.js';
import type { ReauthProof } from './reauth.js';
import { checkCurrentPassword } from '../current-password.js';

/**
 * The password as a re-authentication proof (`pwd`). Guesses share the lock of a password change
 * (`password-change:user:<id>`, `signin.maxFailures` per `signin.lockWindowSec`): someone holding a
 * stolen session gets one budget of guesses at the password, whichever endpoint they try.
 */
export const passwordProof: ReauthProof = {
  field: 'password',
  schema: { type: 'string', minLength: 1, maxLength: 16384 },
  async verify({ auth, request }, user, value) {
    if (typeof value !== 'string') throw new GatehouseError('invalid_request', { detail: 'password must be a string.' });
    if (!hasPassword(user)) {
      throw new GatehouseError('invalid_credentials', { detail: 'This account has no password: sign in again through its identity provider.' });
    }
    await checkCurrentPassword(auth, request, user, value, { lock: 'password-change', event: 'reauth.failure', message: 're-authentication refused: wrong password', wrong: 'The password is wrong.' });
    return AMR_PASSWORD;
  },
};
