import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { admitHash, hashPassword } from '../auth-context.js';
import { recordAudit } from '../audit.js';
import { type EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { checkNewPassword } from '../policy/password.js';
import { endSessions } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { checkCurrentPassword } from '../current-password.js';

export const passwordChangeSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['current_password', 'new_password'],
    properties: {
      current_password: { type: 'string', minLength: 1, maxLength: 16384 },
      new_password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type PasswordChangeBody = FromSchema<(typeof passwordChangeSchema)['body']>;

const PASSWORD_CHANGE_DOC: OperationDoc = {
  summary: "Change the password; every other session of the user (and its refresh and access tokens) ends; API tokens keep working",
  answers: { 204: { description: 'Changed.' } },
};

/**
 * POST /auth/password -> 204. Wrong current password: 401 invalid_credentials. Every other
 * session of the user ends (and is revoked); the caller's own session stays; a pending reset
 * link (or forced-change reset token) is voided.
 */
export function registerPasswordChange(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: PasswordChangeBody }>(
    '/auth/password',
    { schema: passwordChangeSchema, config: { lane: ACCOUNT_LANE, openapi: PASSWORD_CHANGE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      // Someone holding a stolen session must not get unlimited guesses at the password.
      const hashReq = await checkCurrentPassword(auth, request, user, request.body.current_password, {
        lock: 'password-change',
        event: 'password.change.failure',
        message: 'password change refused: wrong current password',
      });
      checkNewPassword(request.body.new_password, user.username, deps.config);
      const passwordHash = await hashPassword(auth, request.body.new_password, admitHash(auth, hashReq));
      await deps.stores.users.setPasswordHash(user.id, passwordHash, deps.clock.now());
      // A reset link mailed before (perhaps read by someone else) must not undo the new password.
      await deps.stores.emails.deleteTokens(user.id, 'reset');
      const ended = await endSessions(deps, { userId: user.id, ...(passport.sid ? { exceptSessionId: passport.sid } : {}) }, request);
      await recordAudit(deps, request, { type: 'password.changed', userId: user.id, deviceId: passport.did ?? null, detail: { sessions_ended: ended.length } });
      return reply.code(204).send();
    },
  );
}
