import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit, userAgentOf } from '../audit.js';
import { clientIp } from '../client-ip.js';
import { notifyAddressLeft } from '../email/notifications.js';
import { type EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';

const EMAIL_DELETE_DOC: OperationDoc = {
  summary: "Remove the user's email address (no more reset links or notifications by mail)",
  answers: { 204: { description: 'Removed.' } },
};

/** DELETE /auth/email -> 204; 404 not_found when the account has no address. Pending verification and reset links die with it. */
export function registerEmailDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete('/auth/email', { config: { lane: SIGN_IN_METHODS_LANE, openapi: EMAIL_DELETE_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    const left = await deps.stores.emails.get(user.id);
    if (!(await deps.stores.emails.remove(user.id))) throw new GatehouseError('not_found', { detail: 'This account has no email address.' });
    notifyAddressLeft(deps, user, left, null, { ip: clientIp(request), userAgent: userAgentOf(request) });
    // Pending verification and reset links die with the address (a mailbox the user may no longer control).
    await deps.stores.emails.deleteTokens(user.id);
    await recordAudit(deps, request, { type: 'email.removed', userId: user.id, deviceId: passport.did ?? null });
    return reply.code(204).send();
  });
}
