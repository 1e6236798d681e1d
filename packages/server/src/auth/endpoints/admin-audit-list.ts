import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { AUDIT_FILTER_PARAMS, auditFilter } from '../admin/audit-filter.js';
import { auditCursor, auditRow, AUDIT_ROW_SCHEMA, CURSOR_PARAM, LIMIT_PARAM, page, pageSchema, parseAuditCursor, parseLimit } from '../admin/paging.js';

export const adminAuditListSchema = {
  querystring: { type: 'object', additionalProperties: false, properties: { ...AUDIT_FILTER_PARAMS, limit: LIMIT_PARAM, cursor: CURSOR_PARAM } },
} as const;

type Query = FromSchema<(typeof adminAuditListSchema)['querystring']>;

const DOC: OperationDoc = {
  summary: 'Admin: the security event log of every user, newest first, by time, user and type (keyset pages)',
  answers: { 200: { description: 'One page; `next_cursor` null on the last.', body: pageSchema(AUDIT_ROW_SCHEMA) } },
};

/** GET /auth/admin/audit?from=&to=&user=&type=&limit=&cursor= -> {items: AuditRow[], next_cursor}. */
export function registerAdminAuditList(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.get<{ Querystring: Query }>('/auth/admin/audit', { schema: adminAuditListSchema, config: { lane: ADMIN_LANE, admin: { action: 'audit.list' }, openapi: DOC } }, async (request, reply) => {
    const q = request.query;
    const limit = parseLimit(q.limit);
    const after = parseAuditCursor(q.cursor);
    const filter = auditFilter(q);
    await auth.backgroundAudit.settle();
    const rows = await deps.stores.audit.query(filter, { limit: limit + 1, order: 'desc', after });
    return reply.send(page(rows, limit, auditRow, (r) => auditCursor(r.key)));
  });
}
