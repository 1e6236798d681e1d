import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword } from '../../stores/types.js';
import { admitHash, checkHashAdmission, hashPassword, type HashRequest } from '../auth-context.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { checkNewPassword } from '../policy/password.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

export const passwordSetSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['new_password'],
    properties: {
      new_password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type PasswordSetBody = FromSchema<(typeof passwordSetSchema)['body']>;

const PASSWORD_SET_DOC: OperationDoc = {
  summary: 'Set a first password on an account that has none (signed up through an identity provider)',
  answers: { 204: { description: 'Set; the account can now sign in with its username and this password.' } },
};

/**
 * POST /auth/password/set -> 204. Only for an account without a password (409 password_exists
 * otherwise: POST /auth/password changes one). The sign-up password policy applies (400
 * weak_password / invalid_password); the hash goes through the hashing queue's admission.
 */
export function registerPasswordSet(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: PasswordSetBody }>(
    '/auth/password/set',
    { schema: passwordSetSchema, config: { lane: ACCOUNT_LANE, openapi: PASSWORD_SET_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      if (hasPassword(user)) {
        throw new GatehouseError('password_exists', { detail: 'Your account has a password already; change it with POST /auth/password, which asks for the current one.' });
      }
      checkNewPassword(request.body.new_password, user.username, deps.config);
      const hashReq: HashRequest = { lane: 'normal', request, username: user.usernameCanonical };
      checkHashAdmission(auth, hashReq);
      const passwordHash = await hashPassword(auth, request.body.new_password, admitHash(auth, hashReq));
      // Only while it still has none: of two parallel sets, one wins and the other is told.
      if (!(await deps.stores.users.setPasswordHashIfNone(user.id, passwordHash, deps.clock.now()))) {
        throw new GatehouseError('password_exists', { detail: 'Your account has a password already; change it with POST /auth/password, which asks for the current one.' });
      }
      // As after a password change: a reset link made before must not undo the password chosen now.
      await deps.stores.emails.deleteTokens(user.id, 'reset');
      await recordAudit(deps, request, { type: 'password.set', userId: user.id, deviceId: passport.did ?? null });
      return reply.code(204).send();
    },
  );
}
