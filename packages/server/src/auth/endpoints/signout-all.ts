import type { FastifyInstance } from 'fastify';
import { clearSessionCookies } from '../cookies.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { endSessions } from '../sessions.js';

/**
 * POST /auth/signout-all -> 204: ends every session of the user and publishes a user
 * revocation (notBefore = now) so every token issued before now is refused.
 */
export function registerSignoutAll(app: FastifyInstance, { deps, authenticate }: EndpointContext): void {
  app.post('/auth/signout-all', { preHandler: authenticate }, async (request, reply) => {
    const passport = passportOf(request);
    const ended = await endSessions(deps, { userId: passport.sub, allCredentials: true });
    clearSessionCookies(reply, deps.config);
    deps.logger.info({ event: 'signout.all', userId: passport.sub, ended: ended.length, ip: clientIp(request) }, 'signed out everywhere');
    return reply.code(204).send();
  });
}
