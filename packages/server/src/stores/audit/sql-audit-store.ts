import type { Kysely, Selectable } from 'kysely';
import { guard, type SqlFlavor } from '../sql/flavor.js';
import { num, type AuditEventsTable, type GatehouseDb } from '../sql/schema.js';
import { AUDIT_EVENT_TYPES, type AuditEvent, type AuditEventType, type AuditStore } from '../types.js';

const TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);

function parseDetail(text: string | null): AuditEvent['detail'] {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    const out: Record<string, string | number | boolean> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') out[k] = x;
    }
    return out;
  } catch {
    return null;
  }
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: row.id,
    userId: row.user_id,
    type: row.type as AuditEventType,
    at: num(row.at),
    ip: row.ip,
    deviceId: row.device_id,
    userAgent: row.user_agent,
    detail: parseDetail(row.detail),
  };
}

/** AuditStore over kysely (SQLite now; the same class serves any SqlFlavor). Events go with their user. */
export class SqlAuditStore implements AuditStore {
  constructor(
    private readonly db: Kysely<GatehouseDb>,
    private readonly flavor: SqlFlavor,
  ) {}

  private run<T>(op: () => Promise<T>): Promise<T> {
    return guard(this.flavor, 'audit', op);
  }

  append(e: AuditEvent): Promise<void> {
    if (!TYPES.has(e.type)) return Promise.reject(new TypeError(`Unknown audit event type ${JSON.stringify(e.type)}.`));
    return this.run(async () => {
      await this.db
        .insertInto('audit_events')
        .values({
          id: e.id,
          user_id: e.userId,
          type: e.type,
          at: e.at,
          ip: e.ip,
          device_id: e.deviceId,
          user_agent: e.userAgent,
          detail: e.detail === null ? null : JSON.stringify(e.detail),
        })
        .execute();
    });
  }

  listByUser(userId: string, limit: number): Promise<AuditEvent[]> {
    return this.run(async () => {
      const rows = await this.db
        .selectFrom('audit_events')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('at', 'desc')
        .orderBy('seq', 'desc')
        .limit(Math.max(0, Math.floor(limit)))
        .execute();
      return rows.map(toEvent);
    });
  }

  deleteOlderThan(ts: number): Promise<number> {
    return this.run(async () => {
      const r = await this.db.deleteFrom('audit_events').where('at', '<', ts).executeTakeFirst();
      return Number(r.numDeletedRows);
    });
  }
}
