import type { FastifyInstance } from 'fastify';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { isSessionLive } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

const SESSIONS_LIST_DOC: OperationDoc = {
  summary: "The user's signed-in devices, most recent first",
  answers: {
    200: {
      description: 'One entry per live device session; `current` marks the caller\'s.',
      body: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'device_id', 'device_name', 'created_at', 'last_seen_at', 'current'],
          properties: {
            id: { type: 'string' },
            device_id: { type: 'string' },
            device_name: { type: ['string', 'null'] },
            created_at: DATE_TIME,
            last_seen_at: DATE_TIME,
            current: { type: 'boolean' },
          },
        },
      },
    },
  },
};

/** GET /auth/sessions -> 200 [{id, device_id, device_name, created_at, last_seen_at, current}], most recent first. */
export function registerSessionsList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/sessions', { config: { lane: ACCOUNT_LANE, openapi: SESSIONS_LIST_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const now = deps.clock.now();
    const sessions = (await deps.stores.sessions.listByUser(passport.sub))
      .filter((s) => isSessionLive(s, now))
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    return reply.send(
      sessions.map((s) => ({
        id: s.id,
        device_id: s.deviceId,
        device_name: s.deviceName,
        created_at: iso(s.createdAt),
        last_seen_at: iso(s.lastSeenAt),
        current: s.id === passport.sid,
      })),
    );
  });
}
