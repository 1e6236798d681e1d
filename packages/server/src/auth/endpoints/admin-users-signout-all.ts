import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { endAllSessions } from '../admin/lifecycle.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS } from '../admin/paging.js';

export const adminUsersSignoutAllSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: end every session of a user, on every device',
  answers: {
    200: {
      description: 'How many sessions ended; every access token issued before now is refused too.',
      body: { type: 'object', additionalProperties: false, required: ['ended'], properties: { ended: { type: 'integer', minimum: 0 } } },
    },
  },
};

/** POST /auth/admin/users/:id/signout-all -> {ended}; 404 for an unknown id. */
export function registerAdminUsersSignoutAll(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Params: Params }>(
    '/auth/admin/users/:id/signout-all',
    { schema: adminUsersSignoutAllSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.signout_all' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const ended = await endAllSessions(deps, request.params.id, { adminId: call.admin.id, request });
      call.detail.ended = ended;
      return reply.send({ ended });
    },
  );
}
