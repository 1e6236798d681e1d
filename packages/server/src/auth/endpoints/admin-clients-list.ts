import type { FastifyInstance } from 'fastify';
import type { ClientRecord } from '../../stores/types.js';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

const STRINGS = { type: 'array', items: { type: 'string' } } as const;

export const CLIENT_ROW_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['client_id', 'name', 'type', 'grants', 'scopes', 'audiences', 'service', 'secrets', 'created_at', 'updated_at', 'last_used_at'],
  properties: {
    client_id: { type: 'string' },
    name: { type: 'string' },
    type: { type: 'string', enum: ['public', 'confidential'] },
    grants: STRINGS,
    scopes: STRINGS,
    audiences: STRINGS,
    service: { type: ['string', 'null'] },
    secrets: {
      type: 'array',
      items: { type: 'object', additionalProperties: false, required: ['created_at', 'not_after'], properties: { created_at: DATE_TIME, not_after: { type: ['string', 'null'], format: 'date-time' } } },
    },
    created_at: DATE_TIME,
    updated_at: DATE_TIME,
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

/** A client as the admin API shows it (as `gatehouse clients list --json`): never a secret or its hash. */
export function clientRow(c: ClientRecord): Record<string, unknown> {
  return {
    client_id: c.clientId,
    name: c.name,
    type: c.type,
    grants: c.grants,
    scopes: c.scopes,
    audiences: c.audiences,
    service: c.service,
    secrets: c.secrets.map((s) => ({ created_at: iso(s.createdAt), not_after: isoOrNull(s.notAfter) })),
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    last_used_at: isoOrNull(c.lastUsedAt),
  };
}

const DOC: OperationDoc = {
  summary: 'Admin: the registered OAuth clients (what `gatehouse clients list` shows)',
  answers: { 200: { description: 'Every client, by id; secrets never.', body: { type: 'array', items: CLIENT_ROW_SCHEMA } } },
};

/** GET /auth/admin/clients -> [ClientRow]. */
export function registerAdminClientsList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/admin/clients', { config: { lane: ADMIN_LANE, admin: { action: 'clients.list' }, openapi: DOC } }, async (_request, reply) =>
    reply.send((await deps.stores.clients.list()).map(clientRow)),
  );
}
