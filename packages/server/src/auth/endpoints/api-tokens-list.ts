import type { FastifyInstance } from 'fastify';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

const API_TOKENS_LIST_DOC: OperationDoc = {
  summary: "The user's API tokens, newest first (never a token or its hash)",
  answers: {
    200: {
      description: 'The tokens.',
      body: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name', 'scopes', 'created_at', 'expires_at', 'last_used_at'],
          properties: {
            id: { type: 'string' },
            name: { type: 'string' },
            scopes: { type: 'array', items: { type: 'string' } },
            created_at: DATE_TIME,
            expires_at: { type: ['string', 'null'], format: 'date-time' },
            last_used_at: { type: ['string', 'null'], format: 'date-time' },
          },
        },
      },
    },
  },
};

/** GET /auth/api-tokens -> 200 [{id, name, scopes, created_at, expires_at, last_used_at}], newest first; never a token or hash. */
export function registerApiTokensList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/api-tokens', { config: { lane: ACCOUNT_LANE, openapi: API_TOKENS_LIST_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const tokens = await deps.stores.apiTokens.listByUser(passport.sub);
    return reply.send(
      tokens.map((t) => ({
        id: t.id,
        name: t.name,
        scopes: t.scopes,
        created_at: iso(t.createdAt),
        expires_at: isoOrNull(t.expiresAt),
        last_used_at: isoOrNull(t.lastUsedAt),
      })),
    );
  });
}
