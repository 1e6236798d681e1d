import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { canDefer, recordPending } from '../pending-revocations.js';
import { publishRevocation } from '../sessions.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

export const apiTokensDeleteSchema = {
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  },
} as const;

/** The path parameters as the schema above admits them (derived, so the two cannot drift apart). */
export type ApiTokenParams = FromSchema<(typeof apiTokensDeleteSchema)['params']>;

const API_TOKENS_DELETE_DOC: OperationDoc = {
  summary: 'Delete one of the user\'s API tokens',
  answers: { 204: { description: 'Deleted; every gateway refuses it at once.' } },
};

/**
 * DELETE /auth/api-tokens/:id -> 204; 404 when it is not one of the caller's tokens. Publishes
 * `{type: 'api_token', tokenId}` so every gateway drops its cached copy at once. While the store is
 * away the deletion waits in Redis (pending-revocations.ts) and answers 204 whether or not the
 * id is one of the caller's tokens (only the caller's own token is ever refused).
 */
export function registerApiTokensDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: ApiTokenParams }>('/auth/api-tokens/:id', { schema: apiTokensDeleteSchema, config: { lane: ACCOUNT_LANE, openapi: API_TOKENS_DELETE_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const { id } = request.params;
    let deleted: boolean;
    let deferred = false;
    try {
      deleted = await deps.stores.apiTokens.delete(id, passport.sub);
    } catch (err) {
      // The store is away: the deletion waits in Redis, scoped to the caller's own tokens
      // (pending-revocations.ts); every gateway refuses the token meanwhile.
      if (!canDefer(deps, err)) throw err;
      deleted = false;
      deferred = true;
      await recordPending(deps, { type: 'api_token', tokenId: id, userId: passport.sub, at: deps.clock.now() }, err, request);
    }
    if (deleted) await publishRevocation(deps, { type: 'api_token', tokenId: id, at: deps.clock.now() }, request);
    // Someone else's token answers exactly like a missing one.
    else if (!deferred) throw new GatehouseError('not_found', { detail: 'No such API token.' });
    await recordAudit(deps, request, { type: 'api_token.deleted', userId: passport.sub, deviceId: passport.did ?? null, detail: { token_id: id, ...(deferred ? { pending: true } : {}) } });
    return reply.code(204).send();
  });
}
