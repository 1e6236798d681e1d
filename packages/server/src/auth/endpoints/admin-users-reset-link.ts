import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { createResetLink } from '../recovery/admin.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS } from '../admin/paging.js';

export const adminUsersResetLinkSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: make a password reset link for the user (shown this once; a newer one voids it)',
  answers: {
    201: {
      description: 'The link, single use until `expires_at` (recovery.resetTtlMin). Hand it to the user by a channel you trust; it is never stored or logged.',
      body: { type: 'object', additionalProperties: false, required: ['url', 'expires_at'], properties: { url: { type: 'string' }, expires_at: DATE_TIME } },
    },
  },
};

/** POST /auth/admin/users/:id/reset-link -> 201 {url, expires_at}, `Cache-Control: no-store` (every answer of the service); 404 for an unknown id. */
export function registerAdminUsersResetLink(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Params: Params }>(
    '/auth/admin/users/:id/reset-link',
    { schema: adminUsersResetLinkSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.reset_link' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const link = await createResetLink(deps, request.params.id, { adminId: call.admin.id, request });
      return reply.code(201).header('cache-control', 'no-store').send({ url: link.url, expires_at: iso(link.expiresAt) });
    },
  );
}
