import type { FastifyInstance } from 'fastify';
import { clearSessionCookies } from '../cookies.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { endSessions } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const SIGNOUT_ALL_DOC: OperationDoc = {
  summary: 'End every session of the user; every token issued before now is refused',
  answers: { 204: { description: 'Signed out everywhere.' } },
};

/**
 * POST /auth/signout-all -> 204: ends every session of the user and publishes a user
 * revocation (notBefore = now) so every token issued before now is refused.
 */
export function registerSignoutAll(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/signout-all', { config: { lane: ACCOUNT_LANE, openapi: SIGNOUT_ALL_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const ended = await endSessions(deps, { userId: passport.sub, allCredentials: true }, request);
    clearSessionCookies(reply, deps.config);
    await recordAudit(deps, request, { type: 'signout_all', userId: passport.sub, deviceId: passport.did ?? null, detail: { ended: ended.length } });
    return reply.code(204).send();
  });
}
