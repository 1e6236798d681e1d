import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { setUserRoles } from '../admin/lifecycle.js';
import { adminCallOf, ADMIN_ROLE } from '../admin/guard.js';
import { ID_PARAMS, refuseSelf, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersRolesSchema = {
  params: ID_PARAMS,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['roles'],
    properties: { roles: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64 } } },
  },
} as const;

type Params = FromSchema<typeof ID_PARAMS>;
type Body = FromSchema<(typeof adminUsersRolesSchema)['body']>;

const DOC: OperationDoc = {
  summary: "Admin: set a user's roles (409 last_admin for your own admin role)",
  answers: { 200: { description: 'The user with the new roles.', body: USER_ROW_SCHEMA } },
};

/** PUT /auth/admin/users/:id/roles {roles} -> UserRow. */
export function registerAdminUsersRoles(app: FastifyInstance, { deps }: EndpointContext): void {
  app.put<{ Params: Params; Body: Body }>(
    '/auth/admin/users/:id/roles',
    { schema: adminUsersRolesSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.roles' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      if (!request.body.roles.includes(ADMIN_ROLE)) refuseSelf(call.admin.id, id, 'remove the admin role from');
      const user = await setUserRoles(deps, id, request.body.roles, { adminId: call.admin.id, request });
      call.detail.roles = user.roles.join(',');
      return reply.send(userRow(user));
    },
  );
}
