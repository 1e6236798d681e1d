import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type AuditPageKey, type AuditPageRow, type UserPageKey, type UserRecord } from '../../stores/types.js';
import { iso } from '../endpoint-context.js';
import { DATE_TIME } from '../openapi.js';

/** `?limit=` of the admin lists: 1..100, default 50. */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 100;

/** Query parameters of a page, as strings (the service never coerces query types). */
export const LIMIT_PARAM = { type: 'string', pattern: '^[0-9]{1,3}$' } as const;
export const CURSOR_PARAM = { type: 'string', minLength: 1, maxLength: 512 } as const;
/** A time filter: ISO 8601 (`2026-01-31T12:00:00Z`) or epoch milliseconds. */
export const TIME_PARAM = { type: 'string', minLength: 1, maxLength: 40 } as const;

export function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new GatehouseError('invalid_request', { detail: `"limit" must be 1..${MAX_PAGE} (default ${DEFAULT_PAGE}).` });
  return n;
}

export function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^[0-9]{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new GatehouseError('invalid_request', { detail: `"${name}" must be an ISO 8601 time (2026-01-31T12:00:00Z) or epoch milliseconds.` });
  return ms;
}

function badCursor(): GatehouseError {
  return new GatehouseError('invalid_request', { detail: 'The cursor is not one this list gave (or the filters changed); start again without "cursor".' });
}

/** A cursor: base64url of the JSON of the last row's sort key (opaque to clients). */
function encode(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decode(cursor: string): unknown[] {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(v)) throw badCursor();
    return v;
  } catch {
    throw badCursor();
  }
}

const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export function userCursor(key: UserPageKey): string {
  return encode(['u', key.createdAt, key.id]);
}

export function parseUserCursor(cursor: string | undefined): UserPageKey | null {
  if (cursor === undefined) return null;
  const [tag, createdAt, id] = decode(cursor);
  if (tag !== 'u' || !isMs(createdAt) || typeof id !== 'string' || id === '' || id.length > 128) throw badCursor();
  return { createdAt, id };
}

export function auditCursor(key: AuditPageKey): string {
  return encode(['a', key.at, key.seq]);
}

export function parseAuditCursor(cursor: string | undefined): AuditPageKey | null {
  if (cursor === undefined) return null;
  const [tag, at, seq] = decode(cursor);
  if (tag !== 'a' || !isMs(at) || !isMs(seq)) throw badCursor();
  return { at, seq };
}

/** `{items, next_cursor}` from `limit + 1` rows read: the extra row only says there is more. */
export function page<R, T>(rows: readonly R[], limit: number, item: (r: R) => T, cursor: (r: R) => string): { items: T[]; next_cursor: string | null } {
  const shown = rows.slice(0, limit);
  return { items: shown.map(item), next_cursor: rows.length > limit && shown.length > 0 ? cursor(shown[shown.length - 1]!) : null };
}

/** UserRow (docs/admin.md). */
export function userRow(u: UserRecord): { id: string; username: string; roles: string[]; disabled: boolean; created_at: string; updated_at: string } {
  return { id: u.id, username: u.username, roles: u.roles, disabled: isDisabled(u), created_at: iso(u.createdAt), updated_at: iso(u.updatedAt) };
}

export const USER_ROW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'username', 'roles', 'disabled', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    disabled: { type: 'boolean' },
    created_at: DATE_TIME,
    updated_at: DATE_TIME,
  },
} as const;

/** AuditRow (docs/admin.md). */
export function auditRow(r: AuditPageRow): Record<string, unknown> {
  const e = r.event;
  return { id: e.id, at: iso(e.at), type: e.type, user_id: e.userId, username: r.username, ip: e.ip, device_id: e.deviceId, user_agent: e.userAgent, detail: e.detail };
}

export const AUDIT_ROW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'type', 'user_id', 'username', 'ip', 'device_id', 'user_agent', 'detail'],
  properties: {
    id: { type: 'string' },
    at: DATE_TIME,
    type: { type: 'string' },
    user_id: { type: ['string', 'null'] },
    username: { type: ['string', 'null'] },
    ip: { type: ['string', 'null'] },
    device_id: { type: ['string', 'null'] },
    user_agent: { type: ['string', 'null'] },
    detail: { type: ['object', 'null'], additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
} as const;

/** A page's schema for the OpenAPI document. */
export function pageSchema(item: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['items', 'next_cursor'],
    properties: { items: { type: 'array', maxItems: MAX_PAGE, items: item }, next_cursor: { type: ['string', 'null'] } },
  };
}

/** The `:id` path parameter of the admin routes. */
export const ID_PARAMS = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/**
 * The last-admin rule (docs/admin.md): an admin cannot drop their own admin role, disable or
 * delete themselves, so the API can never lock out the admin using it; another admin (or the
 * CLI on the server) can. 409 `last_admin`.
 */
export function refuseSelf(adminId: string, targetId: string, what: string): void {
  if (adminId !== targetId) return;
  throw new GatehouseError('last_admin', { detail: `You cannot ${what} yourself through the admin API: ask another admin, or run the gatehouse CLI on the server.` });
}
