import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

export const identitiesDeleteSchema = {
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['provider', 'subject'],
    properties: {
      provider: { type: 'string', minLength: 1, maxLength: 128 },
      subject: { type: 'string', minLength: 1, maxLength: 512 },
    },
  },
} as const;

/** The path parameters as the schema above admits them (derived, so the two cannot drift apart). */
export type IdentityParams = FromSchema<(typeof identitiesDeleteSchema)['params']>;

const IDENTITIES_DELETE_DOC: OperationDoc = {
  summary: "Unlink one of the user's identity-provider accounts (never the last way to sign in)",
  answers: { 204: { description: 'Unlinked; it no longer signs in to this account.' } },
};

/**
 * DELETE /auth/identities/:provider/:subject -> 204; 404 when the user has no such identity;
 * 409 last_sign_in_method when it is the last way to sign in (no password, no other identity):
 * the check and the delete are one write transaction (`IdentityStore.unlink`, keepOne).
 * Sessions that came from it stay: unlinking is not a sign-out.
 */
export function registerIdentitiesDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: IdentityParams }>(
    '/auth/identities/:provider/:subject',
    { schema: identitiesDeleteSchema, config: { lane: ACCOUNT_LANE, openapi: IDENTITIES_DELETE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      const { provider, subject } = request.params;
      const result = await deps.stores.identities.unlink(user.id, provider, subject, { keepOne: !hasPassword(user) });
      if (result === 'not_found') throw new GatehouseError('not_found', { detail: 'No such sign-in method is linked to your account.' });
      if (result === 'last') {
        throw new GatehouseError('last_sign_in_method', {
          detail: 'This is the last way to sign in to your account. Set a password (POST /auth/password/set) or link another provider first.',
        });
      }
      await recordAudit(deps, request, { type: 'identity.unlinked', userId: user.id, deviceId: passport.did ?? null, detail: { provider } });
      return reply.code(204).send();
    },
  );
}
