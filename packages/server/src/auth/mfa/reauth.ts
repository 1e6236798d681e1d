import type { FastifyRequest } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword, type UserRecord } from '../../stores/types.js';
import type { AuthContext } from '../auth-context.js';
import { checkCurrentPassword } from '../current-password.js';

/** The body of a change to the second factors that asks for the current password and nothing else. */
export const currentPasswordSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['password'],
    properties: { password: { type: 'string', minLength: 1, maxLength: 16384 } },
  },
} as const;

export type CurrentPasswordBody = FromSchema<(typeof currentPasswordSchema)['body']>;

/**
 * Re-authentication before a change to the second factors (issue 17, i17 §4): the current
 * password in the request itself, behind its own lock per user (`signin.maxFailures` per
 * `signin.lockWindowSec`, like the password change), so a stolen session cannot change factors
 * nor guess the password without limit. An account without a password (federation only) is
 * refused with 403 until a recent-sign-in check (the session's auth_time) covers it.
 */
export async function requireCurrentPassword(auth: AuthContext, request: FastifyRequest, user: UserRecord, password: string | undefined): Promise<void> {
  if (!hasPassword(user)) {
    throw new GatehouseError('forbidden', { detail: 'Set a password first (POST /auth/password/set): changing second factors asks for it.' });
  }
  if (password === undefined) throw new GatehouseError('invalid_request', { detail: 'Send the current password as "password" to change second factors.' });
  await checkCurrentPassword(auth, request, user, password, { lock: 'mfa-change', event: 'mfa.change.failure', message: 'second-factor change refused: wrong current password' });
}
