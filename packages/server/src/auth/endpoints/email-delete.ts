import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit, userAgentOf } from '../audit.js';
import { clientIp } from '../client-ip.js';
import { notifyAddressLeft } from '../email/notifications.js';
import { type EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { requireEmailChangeProof } from './email-put.js';

export const emailDeleteSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      // Required when the account has a password (a stolen session must not remove the owner's recovery address).
      password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

export type EmailDeleteBody = FromSchema<(typeof emailDeleteSchema)['body']>;

const EMAIL_DELETE_DOC: OperationDoc = {
  summary: "Remove the user's email address (no more reset links or notifications by mail)",
  answers: { 204: { description: 'Removed.' } },
};

/**
 * DELETE /auth/email {password} -> 204; 404 not_found when the account has no address. Asks for
 * what a change asks for (`requireEmailChangeProof`: the current password, or a recent sign-in
 * for an account without one). Pending verification and reset links die with it; a verified
 * address is told it was removed.
 */
export function registerEmailDelete(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.delete<{ Body: EmailDeleteBody }>('/auth/email', { schema: emailDeleteSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: EMAIL_DELETE_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    await requireEmailChangeProof(auth, request, user, passport.sid, request.body?.password, 'remove');
    const left = await deps.stores.emails.get(user.id);
    if (!(await deps.stores.emails.remove(user.id))) throw new GatehouseError('not_found', { detail: 'This account has no email address.' });
    notifyAddressLeft(deps, user, left, null, { ip: clientIp(request), userAgent: userAgentOf(request) });
    // Pending verification and reset links die with the address (a mailbox the user may no longer control).
    await deps.stores.emails.deleteTokens(user.id);
    await recordAudit(deps, request, { type: 'email.removed', userId: user.id, deviceId: passport.did ?? null });
    return reply.code(204).send();
  });
}
