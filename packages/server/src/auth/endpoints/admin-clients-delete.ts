import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { ClientRuleError } from '../../credentials/clients.js';
import { GatehouseError } from '../../errors/index.js';
import { removeClientEverywhere } from '../client-removal.js';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { adminCallOf } from '../admin/guard.js';
import { ID_PARAMS } from '../admin/paging.js';

export const adminClientsDeleteSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

const DOC: OperationDoc = {
  summary: 'Admin: remove an OAuth client (what `gatehouse clients remove` does: its tokens and device sessions end)',
  answers: { 204: { description: 'Removed; its tokens are refused on every gateway.' } },
};

/** DELETE /auth/admin/clients/:id -> 204; 404 for an unknown client. */
export function registerAdminClientsDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: Params }>(
    '/auth/admin/clients/:id',
    { schema: adminClientsDeleteSchema, config: { lane: ADMIN_LANE, admin: { action: 'clients.remove' }, openapi: DOC } },
    async (request, reply) => {
      const { id } = request.params;
      const call = adminCallOf(request);
      call.detail.client_id = id;
      try {
        const { endedSessions } = await removeClientEverywhere(deps, id);
        call.detail.ended_sessions = endedSessions.length;
      } catch (err) {
        // removeClient's refusals: an id no client can have, or no such client (nothing was done).
        if (err instanceof ClientRuleError) throw new GatehouseError('not_found', { detail: `No client "${id}"; GET /auth/admin/clients lists them.`, cause: err });
        throw err;
      }
      deps.logger.info({ event: 'client.removed', clientId: id, by: call.admin.id }, 'OAuth client removed');
      return reply.code(204).send();
    },
  );
}
