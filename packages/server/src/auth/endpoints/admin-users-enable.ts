import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { enableUser } from '../admin/lifecycle.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersEnableSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: enable a disabled user again',
  answers: { 200: { description: 'The user as it is now.', body: USER_ROW_SCHEMA } },
};

/** POST /auth/admin/users/:id/enable -> UserRow; 404 for an unknown id. */
export function registerAdminUsersEnable(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Params: Params }>(
    '/auth/admin/users/:id/enable',
    { schema: adminUsersEnableSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.enable' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      const user = await enableUser(deps, id, { adminId: call.admin.id, request });
      return reply.send(userRow(user));
    },
  );
}
