import { GatehouseError } from '../../errors/index.js';
import { AUDIT_EVENT_TYPES, type AuditEventType, type AuditFilter } from '../../stores/types.js';
import { parseTime, TIME_PARAM } from './paging.js';

const TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

/** The audit log's filters as query parameters (GET /auth/admin/audit and its export). */
export const AUDIT_FILTER_PARAMS = {
  from: TIME_PARAM,
  to: TIME_PARAM,
  user: { type: 'string', minLength: 1, maxLength: 128 },
  type: { type: 'string', minLength: 1, maxLength: 512 },
} as const;

/** `from` (inclusive), `to` (exclusive), `user` (an id, or `deleted:<pseudonym>`), `type` (one or more, comma-separated). */
export function auditFilter(q: { from?: string; to?: string; user?: string; type?: string }): AuditFilter {
  let types: AuditEventType[] | undefined;
  if (q.type !== undefined) {
    const named = q.type.split(',').map((t) => t.trim());
    const unknown = named.find((t) => !TYPES.has(t));
    if (unknown !== undefined) throw new GatehouseError('invalid_request', { detail: `"type" holds an unknown event type ${JSON.stringify(unknown.slice(0, 64))}; docs/admin.md lists them.` });
    types = named as AuditEventType[];
  }
  const from = parseTime(q.from, 'from');
  const to = parseTime(q.to, 'to');
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}), ...(q.user !== undefined ? { userId: q.user } : {}), ...(types !== undefined ? { types } : {}) };
}
