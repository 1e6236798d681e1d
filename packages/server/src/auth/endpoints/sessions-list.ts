import type { FastifyInstance } from 'fastify';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { isSessionLive } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';

/** GET /auth/sessions -> 200 [{id, device_id, device_name, created_at, last_seen_at, current}], most recent first. */
export function registerSessionsList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/sessions', { config: { lane: ACCOUNT_LANE } }, async (request, reply) => {
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
