import type { FastifyInstance } from 'fastify';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

/** Most events `GET /auth/activity` returns. */
export const ACTIVITY_LIMIT = 50;

const ACTIVITY_DOC: OperationDoc = {
  summary: "The user's own security events, newest first (at most 50)",
  answers: {
    200: {
      description: 'The events; never a secret.',
      body: {
        type: 'array',
        maxItems: ACTIVITY_LIMIT,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['type', 'at', 'ip', 'device_id', 'user_agent', 'detail'],
          properties: {
            type: { type: 'string' },
            at: DATE_TIME,
            ip: { type: ['string', 'null'] },
            device_id: { type: ['string', 'null'] },
            user_agent: { type: ['string', 'null'] },
            detail: { type: ['object', 'null'], additionalProperties: { type: ['string', 'number', 'boolean'] } },
          },
        },
      },
    },
  },
};

/**
 * GET /auth/activity -> 200 [{type, at, ip, device_id, user_agent, detail}]: the caller's own
 * security events (sign-ins, failures, locks, sign-outs, removed devices, password changes,
 * token reuse, API tokens), newest first, at most 50. Never a secret.
 */
export function registerActivity(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.get('/auth/activity', { config: { lane: ACCOUNT_LANE, openapi: ACTIVITY_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    await auth.backgroundAudit.settle();
    const events = await deps.stores.audit.listByUser(passport.sub, ACTIVITY_LIMIT);
    return reply.send(
      events.map((e) => ({ type: e.type, at: iso(e.at), ip: e.ip, device_id: e.deviceId, user_agent: e.userAgent, detail: e.detail })),
    );
  });
}
