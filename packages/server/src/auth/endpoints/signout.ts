import type { FastifyInstance } from 'fastify';
import { clearSessionCookies } from '../cookies.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { endSessions } from '../sessions.js';

/** POST /auth/signout -> 204: ends the caller's session (the passport's `sid`) and clears the cookies. */
export function registerSignout(app: FastifyInstance, { deps, authenticate }: EndpointContext): void {
  app.post('/auth/signout', { preHandler: authenticate }, async (request, reply) => {
    const passport = passportOf(request);
    // API-token passports carry no sid: there is no session to end.
    const ended = passport.sid ? await endSessions(deps, { sessionIds: [passport.sid] }) : [];
    clearSessionCookies(reply, deps.config);
    deps.logger.info({ event: 'signout', userId: passport.sub, sid: passport.sid, ended: ended.length, ip: clientIp(request) }, 'sign-out');
    return reply.code(204).send();
  });
}
