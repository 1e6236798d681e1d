import type { FastifyInstance } from 'fastify';
import { clearSessionCookies } from '../cookies.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { endSessions } from '../sessions.js';
import { DEVICE_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const SIGNOUT_DOC: OperationDoc = {
  summary: "End this device's session (cookies cleared; its tokens stop working)",
  answers: { 204: { description: 'Signed out.' } },
};

/** POST /auth/signout -> 204: ends the caller's session (the passport's `sid`) and clears the cookies. */
export function registerSignout(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/signout', { config: { lane: DEVICE_LANE, openapi: SIGNOUT_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    // API-token passports carry no sid: there is no session to end.
    const ended = passport.sid ? await endSessions(deps, { sessionIds: [passport.sid], userId: passport.sub }, request) : [];
    clearSessionCookies(reply, deps.config);
    await recordAudit(deps, request, {
      type: 'signout',
      userId: passport.sub,
      deviceId: passport.did ?? null,
      detail: { ...(passport.sid ? { sid: passport.sid } : {}), ended: ended.length },
    });
    return reply.code(204).send();
  });
}
