import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { Deps } from '../../context.js';
import type { AuditFilter, AuditPageKey } from '../../stores/types.js';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { AUDIT_FILTER_PARAMS, auditFilter } from '../admin/audit-filter.js';
import { auditRow, AUDIT_ROW_SCHEMA } from '../admin/paging.js';

/** Most lines one export writes; narrow `from`/`to` for more. */
export const EXPORT_MAX_LINES = 100_000;
/** Events read per store query while streaming. */
export const EXPORT_PAGE = 1_000;

export const NDJSON = 'application/x-ndjson';

export const adminAuditExportSchema = { querystring: { type: 'object', additionalProperties: false, properties: AUDIT_FILTER_PARAMS } } as const;
type Query = FromSchema<(typeof adminAuditExportSchema)['querystring']>;

const DOC: OperationDoc = {
  summary: 'Admin: export the security event log as JSON lines, oldest first (at most 100 000 lines)',
  answers: { 200: { description: `\`${NDJSON}\`: one AuditRow per line, oldest first, streamed.`, contentType: NDJSON, body: AUDIT_ROW_SCHEMA } },
};

/** The export's lines: keyset pages of EXPORT_PAGE, oldest first, at most `max`. */
export async function* exportLines(deps: Deps, filter: AuditFilter, max = EXPORT_MAX_LINES, pageSize = EXPORT_PAGE): AsyncGenerator<string> {
  let after: AuditPageKey | null = null;
  let written = 0;
  while (written < max) {
    const rows = await deps.stores.audit.query(filter, { limit: Math.min(pageSize, max - written), order: 'asc', after });
    if (rows.length === 0) return;
    let chunk = '';
    for (const r of rows) chunk += `${JSON.stringify(auditRow(r))}\n`;
    written += rows.length;
    yield chunk;
    after = rows[rows.length - 1]!.key;
  }
}

/** GET /auth/admin/audit/export?from=&to=&user=&type= -> 200 application/x-ndjson. */
export function registerAdminAuditExport(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.get<{ Querystring: Query }>('/auth/admin/audit/export', { schema: adminAuditExportSchema, config: { lane: ADMIN_LANE, admin: { action: 'audit.export' }, openapi: DOC } }, async (request, reply) => {
    const filter = auditFilter(request.query);
    await auth.backgroundAudit.settle();
    const day = new Date(deps.clock.now()).toISOString().slice(0, 10);
    return reply
      .type(`${NDJSON}; charset=utf-8`)
      .header('content-disposition', `attachment; filename="gatehouse-audit-${day}.ndjson"`)
      .send(Readable.from(exportLines(deps, filter)));
  });
}
