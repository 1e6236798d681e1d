import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import type { OperationDoc } from '../openapi.js';

const PROVIDERS_DOC: OperationDoc = {
  summary: 'The configured identity providers, for the "Continue with <name>" buttons',
  answers: {
    200: {
      description: 'Each provider: its id (in /auth/federation/<id>/start) and the name to show; [] when none is configured.',
      body: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['id', 'name'],
          properties: { id: { type: 'string' }, name: { type: 'string' } },
        },
      },
    },
  },
};

/** GET /auth/federation/providers -> [{id, name}] (public: the sign-in and sign-up pages read it before anyone is signed in). */
export function registerFederationProviders(app: FastifyInstance, { federation }: EndpointContext): void {
  const body = JSON.stringify(federation.list.map((p) => ({ id: p.id, name: p.name })));
  app.get('/auth/federation/providers', { config: { lane: PUBLIC_LANE, openapi: PROVIDERS_DOC } }, async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(body),
  );
}
