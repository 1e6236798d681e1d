import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { addClient, ClientRuleError } from '../../credentials/clients.js';
import { grantableScopes } from '../../credentials/scope.js';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { adminCallOf } from '../admin/guard.js';
import { clientRow, CLIENT_ROW_SCHEMA } from './admin-clients-list.js';

const NAMES = { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 128 } } as const;

export const adminClientsAddSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['client_id', 'name', 'type', 'grants', 'scopes'],
    properties: {
      client_id: { type: 'string', minLength: 1, maxLength: 64 },
      name: { type: 'string', minLength: 1, maxLength: 100 },
      type: { type: 'string', enum: ['public', 'confidential'] },
      grants: NAMES,
      scopes: NAMES,
      audiences: NAMES,
      service: { type: 'string', minLength: 1, maxLength: 64 },
    },
  },
} as const;

type Body = FromSchema<(typeof adminClientsAddSchema)['body']>;

const DOC: OperationDoc = {
  summary: 'Admin: register an OAuth client (what `gatehouse clients add` does); a confidential client\'s secret is shown this once',
  answers: {
    201: {
      description: 'The client, and its secret (null for a public client). Only the secret\'s hash is kept.',
      body: { type: 'object', additionalProperties: false, required: ['client', 'secret'], properties: { client: CLIENT_ROW_SCHEMA, secret: { type: ['string', 'null'] } } },
    },
  },
};

/** POST /auth/admin/clients -> 201 {client, secret}; 400 invalid_request with what the rules refuse (the CLI's message). */
export function registerAdminClientsAdd(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: Body }>('/auth/admin/clients', { schema: adminClientsAddSchema, config: { lane: ADMIN_LANE, admin: { action: 'clients.add' }, openapi: DOC } }, async (request, reply) => {
    const b = request.body;
    const call = adminCallOf(request);
    call.detail.client_id = b.client_id;
    try {
      const { client, secret } = await addClient(
        deps.stores.clients,
        { clientId: b.client_id, name: b.name, type: b.type, grants: b.grants, scopes: b.scopes, audiences: b.audiences ?? [], service: b.service },
        grantableScopes(deps.config),
        deps.clock.now(),
      );
      deps.logger.info({ event: 'client.added', clientId: client.clientId, by: call.admin.id }, 'OAuth client registered');
      return await reply.code(201).send({ client: clientRow(client), secret });
    } catch (err) {
      if (err instanceof ClientRuleError) throw new GatehouseError('invalid_request', { detail: err.message, cause: err });
      throw err;
    }
  });
}
