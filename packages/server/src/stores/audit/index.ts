export type { AuditEvent, AuditEventType, AuditStore } from '../types.js';
export { AUDIT_EVENT_TYPES } from '../types.js';
export { SqlAuditStore } from './sql-audit-store.js';
