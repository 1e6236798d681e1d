import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hashSecret } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { admitHash, hashPassword } from '../auth-context.js';
import { recordAudit } from '../audit.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { checkNewPassword } from '../policy/password.js';
import { endSessions } from '../sessions.js';
import { clearSigninLock } from '../signin-guard.js';

export const passwordResetSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['token', 'password'],
    properties: {
      token: { type: 'string', minLength: 1, maxLength: 256 },
      password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

export type PasswordResetBody = FromSchema<(typeof passwordResetSchema)['body']>;

const PASSWORD_RESET_DOC: OperationDoc = {
  summary: 'Choose a new password with a reset link (or the reset_token of password_change_required); every session and refresh token of the user ends',
  answers: { 204: { description: 'The password is set; sign in with it.' } },
};

function invalid(): GatehouseError {
  return new GatehouseError('invalid_reset_token', { detail: 'This reset link is wrong, expired, used, or a newer one was made. Ask for a new one on the forgotten-password page.' });
}

/**
 * POST /auth/password/reset {token, password} -> 204. The token must be live (unused,
 * unexpired, the newest of the user's); the password follows the sign-up rules (400
 * weak_password / invalid_password, the token stays usable). Then, in order: the token is taken
 * (one conditional UPDATE: of two uses one wins, 400 invalid_reset_token), the password set
 * (clearing password_change_required), every session and refresh token of the user ended and
 * every access token revoked, the account's sign-in lock cleared, `password.reset` recorded
 * (which mails the notification).
 */
export function registerPasswordReset(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: PasswordResetBody }>('/auth/password/reset', { schema: passwordResetSchema, config: { lane: PUBLIC_LANE, openapi: PASSWORD_RESET_DOC } }, async (request, reply) => {
    const { token, password } = request.body;
    const now = deps.clock.now();
    const found = await deps.stores.emails.findToken(hashSecret(token));
    if (found === null || found.purpose !== 'reset' || found.usedAt !== null || found.expiresAt <= now) {
      deps.logger.info({ event: 'password.reset.failure', known: found !== null, ip: clientIp(request) }, 'password reset refused');
      throw invalid();
    }
    const user = await deps.stores.users.findById(found.userId);
    if (user === null) throw invalid();
    checkNewPassword(password, user.username, deps.config);
    const passwordHash = await hashPassword(auth, password, admitHash(auth, { lane: 'normal', request, username: user.usernameCanonical }));
    if ((await deps.stores.emails.useToken(found.tokenHash, 'reset', deps.clock.now())) === null) throw invalid();
    await deps.stores.users.setPasswordHash(user.id, passwordHash, deps.clock.now());
    const ended = await endSessions(deps, { userId: user.id, allCredentials: true }, request);
    // Locked out by failed guesses (often why the password was reset): the new password works at once.
    await clearSigninLock(deps, user.usernameCanonical);
    await recordAudit(deps, request, { type: 'password.reset', userId: user.id, detail: { sessions_ended: ended.length } });
    return reply.code(204).send();
  });
}
