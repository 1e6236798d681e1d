import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { endSessions } from '../sessions.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS } from '../admin/paging.js';

export const adminSessionsDeleteSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: "Admin: sign one device of any user out (its refresh tokens end with it)",
  answers: { 204: { description: 'That session is ended on every gateway.' } },
};

/** DELETE /auth/admin/sessions/:id -> 204; 404 when no such session. */
export function registerAdminSessionsDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: Params }>(
    '/auth/admin/sessions/:id',
    { schema: adminSessionsDeleteSchema, config: { lane: ADMIN_LANE, admin: { action: 'sessions.delete' }, openapi: DOC } },
    async (request, reply) => {
      const call = adminCallOf(request);
      const { id } = request.params;
      const session = await deps.stores.sessions.findById(id);
      if (session === null) throw new GatehouseError('not_found', { detail: 'No such session (it may have ended already); GET /auth/admin/users/:id lists a user\'s sessions.' });
      call.target = session.userId;
      await endSessions(deps, { sessionIds: [id], userId: session.userId }, request);
      await recordAudit(deps, null, {
        type: 'session.removed',
        userId: session.userId,
        deviceId: session.deviceId,
        detail: { sid: id, removed_device_id: session.deviceId, ...(session.deviceName !== null ? { removed_device_name: session.deviceName } : {}), by: call.admin.id },
      });
      return reply.code(204).send();
    },
  );
}
