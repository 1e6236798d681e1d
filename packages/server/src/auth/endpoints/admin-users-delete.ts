import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { auditPseudonym, deleteUser } from '../admin/lifecycle.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS, refuseSelf } from '../admin/paging.js';

export const adminUsersDeleteSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: delete a user and all their data (docs/data-deletion.md; 409 last_admin for yourself)',
  answers: { 204: { description: 'Deleted; their security events stay under a pseudonym.' } },
};

/** DELETE /auth/admin/users/:id -> 204; 404 for an unknown id. */
export function registerAdminUsersDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: Params }>(
    '/auth/admin/users/:id',
    { schema: adminUsersDeleteSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.delete' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      refuseSelf(call.admin.id, id, 'delete');
      await deleteUser(deps, id, { adminId: call.admin.id, request });
      // The admin's own event names the deleted user as their audit trail now does (docs/data-deletion.md).
      call.target = auditPseudonym(deps, id);
      return reply.code(204).send();
    },
  );
}
