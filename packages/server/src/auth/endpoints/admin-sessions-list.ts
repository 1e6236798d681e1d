import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { AuditPageRow } from '../../stores/types.js';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { isSessionLive } from '../sessions.js';
import { auditCursor, CURSOR_PARAM, LIMIT_PARAM, page, pageSchema, parseAuditCursor, parseLimit } from '../admin/paging.js';

export const adminSessionsListSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      user: { type: 'string', minLength: 1, maxLength: 128 },
      ip: { type: 'string', minLength: 1, maxLength: 64 },
      device: { type: 'string', minLength: 1, maxLength: 128 },
      limit: LIMIT_PARAM,
      cursor: CURSOR_PARAM,
    },
  },
} as const;

type Query = FromSchema<(typeof adminSessionsListSchema)['querystring']>;

const SIGNIN_ROW = {
  type: 'object',
  additionalProperties: false,
  required: ['event_id', 'at', 'user_id', 'username', 'ip', 'device_id', 'user_agent', 'sid', 'live'],
  properties: {
    event_id: { type: 'string' },
    at: DATE_TIME,
    user_id: { type: ['string', 'null'] },
    username: { type: ['string', 'null'] },
    ip: { type: ['string', 'null'] },
    device_id: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    sid: { type: ['string', 'null'] },
    live: { type: 'boolean' },
  },
} as const;

const DOC: OperationDoc = {
  summary: 'Admin: recent sign-ins of every user (by user, address or device), newest first, each saying whether its session is still live',
  answers: { 200: { description: 'One page of `signin.success` events; `next_cursor` null on the last.', body: pageSchema(SIGNIN_ROW) } },
};

/** GET /auth/admin/sessions?user=&ip=&device=&limit=&cursor= -> {items, next_cursor}. */
export function registerAdminSessionsList(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.get<{ Querystring: Query }>(
    '/auth/admin/sessions',
    { schema: adminSessionsListSchema, config: { lane: ADMIN_LANE, admin: { action: 'sessions.list' }, openapi: DOC } },
    async (request, reply) => {
      const q = request.query;
      const limit = parseLimit(q.limit);
      const after = parseAuditCursor(q.cursor);
      // Sign-in events are written in the background (a known account's own path): wait for them.
      await auth.backgroundAudit.settle();
      const rows = await deps.stores.audit.query(
        { types: ['signin.success'], ...(q.user !== undefined ? { userId: q.user } : {}), ...(q.ip !== undefined ? { ip: q.ip } : {}), ...(q.device !== undefined ? { deviceId: q.device } : {}) },
        { limit: limit + 1, order: 'desc', after },
      );
      const now = deps.clock.now();
      const live = new Map<string, boolean>();
      for (const r of rows.slice(0, limit)) {
        const sid = r.event.detail?.sid;
        if (typeof sid !== 'string' || live.has(sid)) continue;
        const s = await deps.stores.sessions.findById(sid);
        live.set(sid, s !== null && s.userId === r.event.userId && isSessionLive(s, now));
      }
      const item = (r: AuditPageRow) => {
        const sid = typeof r.event.detail?.sid === 'string' ? r.event.detail.sid : null;
        return { event_id: r.event.id, at: iso(r.event.at), user_id: r.event.userId, username: r.username, ip: r.event.ip, device_id: r.event.deviceId, user_agent: r.event.userAgent, sid, live: sid !== null && live.get(sid) === true };
      };
      return reply.send(page(rows, limit, item, (r) => auditCursor(r.key)));
    },
  );
}
