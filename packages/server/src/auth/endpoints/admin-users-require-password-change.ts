import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { requirePasswordChange } from '../recovery/admin.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersRequirePasswordChangeSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: ask the user for a new password at the next sign-in',
  answers: { 200: { description: 'The user as it is now.', body: USER_ROW_SCHEMA } },
};

/** POST /auth/admin/users/:id/require-password-change -> UserRow; 404 for an unknown id. */
export function registerAdminUsersRequirePasswordChange(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Params: Params }>(
    '/auth/admin/users/:id/require-password-change',
    { schema: adminUsersRequirePasswordChangeSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.require_password_change' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      const user = await requirePasswordChange(deps, id, { adminId: call.admin.id, request });
      return reply.send(userRow(user));
    },
  );
}
