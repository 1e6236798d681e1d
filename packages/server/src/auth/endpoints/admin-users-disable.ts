import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { disableUser } from '../admin/lifecycle.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS, refuseSelf, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersDisableSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: disable a user (sessions end, every credential refused; 409 last_admin for yourself)',
  answers: { 200: { description: 'The user as it is now.', body: USER_ROW_SCHEMA } },
};

/** POST /auth/admin/users/:id/disable -> UserRow; 404 for an unknown id. */
export function registerAdminUsersDisable(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Params: Params }>(
    '/auth/admin/users/:id/disable',
    { schema: adminUsersDisableSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.disable' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      refuseSelf(call.admin.id, id, 'disable');
      const user = await disableUser(deps, id, { adminId: call.admin.id, request });
      return reply.send(userRow(user));
    },
  );
}
