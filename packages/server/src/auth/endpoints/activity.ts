import type { FastifyInstance } from 'fastify';
import { settleAudit } from '../audit.js';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';

/** Most events `GET /auth/activity` returns. */
export const ACTIVITY_LIMIT = 50;

/**
 * GET /auth/activity -> 200 [{type, at, ip, device_id, user_agent, detail}]: the caller's own
 * security events (sign-ins, failures, locks, sign-outs, removed devices, password changes,
 * token reuse, API tokens), newest first, at most 50. Never a secret.
 */
export function registerActivity(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/activity', { config: { lane: ACCOUNT_LANE } }, async (request, reply) => {
    const passport = passportOf(request);
    await settleAudit(deps);
    const events = await deps.stores.audit.listByUser(passport.sub, ACTIVITY_LIMIT);
    return reply.send(
      events.map((e) => ({ type: e.type, at: iso(e.at), ip: e.ip, device_id: e.deviceId, user_agent: e.userAgent, detail: e.detail })),
    );
  });
}
