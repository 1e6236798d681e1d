import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { publishRevocation } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';

interface ApiTokenParams {
  id: string;
}

export const apiTokensDeleteSchema = {
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  },
} as const;

/**
 * DELETE /auth/api-tokens/:id -> 204; 404 when it is not one of the caller's tokens. Publishes
 * `{type: 'api_token', tokenId}` so every gateway drops its cached copy at once.
 */
export function registerApiTokensDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: ApiTokenParams }>('/auth/api-tokens/:id', { schema: apiTokensDeleteSchema, config: { lane: ACCOUNT_LANE } }, async (request, reply) => {
    const passport = passportOf(request);
    const { id } = request.params;
    // Someone else's token answers exactly like a missing one.
    if (!(await deps.stores.apiTokens.delete(id, passport.sub))) throw new GatehouseError('not_found', { detail: 'No such API token.' });
    await publishRevocation(deps, { type: 'api_token', tokenId: id, at: deps.clock.now() });
    await recordAudit(deps, request, { type: 'api_token.deleted', userId: passport.sub, deviceId: passport.did ?? null, detail: { token_id: id } });
    return reply.code(204).send();
  });
}
