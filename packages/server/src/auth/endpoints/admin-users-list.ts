import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { canonicalUsername } from '../policy/username.js';
import { checkRole } from '../user-admin.js';
import { CURSOR_PARAM, LIMIT_PARAM, page, pageSchema, parseLimit, parseTime, parseUserCursor, TIME_PARAM, userCursor, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersListSchema = {
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      q: { type: 'string', maxLength: 64 },
      role: { type: 'string', minLength: 1, maxLength: 64 },
      disabled: { type: 'string', enum: ['true', 'false'] },
      created_after: TIME_PARAM,
      created_before: TIME_PARAM,
      limit: LIMIT_PARAM,
      cursor: CURSOR_PARAM,
    },
  },
} as const;

type Query = FromSchema<(typeof adminUsersListSchema)['querystring']>;

const DOC: OperationDoc = {
  summary: 'Admin: users, newest first, by username prefix, role, disabled and creation time (keyset pages)',
  answers: { 200: { description: 'One page; `next_cursor` null on the last.', body: pageSchema(USER_ROW_SCHEMA) } },
};

/** GET /auth/admin/users?q=&role=&disabled=&created_after=&created_before=&limit=&cursor= -> {items: UserRow[], next_cursor}. */
export function registerAdminUsersList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get<{ Querystring: Query }>(
    '/auth/admin/users',
    { schema: adminUsersListSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.list' }, openapi: DOC } },
    async (request, reply) => {
      const q = request.query;
      const limit = parseLimit(q.limit);
      const after = parseUserCursor(q.cursor);
      const prefix = q.q === undefined ? undefined : canonicalUsername(q.q.trim());
      if (q.role !== undefined) {
        try {
          checkRole(q.role);
        } catch {
          throw new GatehouseError('invalid_request', { detail: '"role" is a role name: 1 to 64 lower-case letters, digits, "_", ".", ":" or "-".' });
        }
      }
      const filter = {
        ...(prefix !== undefined && prefix !== '' ? { prefix } : {}),
        ...(q.role !== undefined ? { role: q.role } : {}),
        ...(q.disabled !== undefined ? { disabled: q.disabled === 'true' } : {}),
        ...(q.created_after !== undefined ? { createdAfter: parseTime(q.created_after, 'created_after') } : {}),
        ...(q.created_before !== undefined ? { createdBefore: parseTime(q.created_before, 'created_before') } : {}),
      };
      const rows = await deps.stores.users.search(filter, { limit: limit + 1, after });
      return reply.send(page(rows, limit, userRow, (u) => userCursor({ createdAt: u.createdAt, id: u.id })));
    },
  );
}
