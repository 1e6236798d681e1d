import type { FastifyInstance } from 'fastify';
import { keyState } from '../../crypto/keyring.js';
import type { Deps } from '../../context.js';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

export const KEY_LIST_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['kid', 'alg', 'state', 'created_at', 'retires_at'],
    properties: {
      kid: { type: 'string' },
      alg: { type: 'string' },
      state: { type: 'string', enum: ['next', 'active', 'retired'] },
      created_at: DATE_TIME,
      retires_at: { type: ['string', 'null'], format: 'date-time' },
    },
  },
} as const;

/** The signing keys as `gatehouse keys list` shows them (never a private key). */
export async function keyList(deps: Deps): Promise<Array<Record<string, unknown>>> {
  const now = deps.clock.now();
  return (await deps.stores.keys.list()).map((k) => ({ kid: k.kid, alg: k.alg, state: keyState(k, now), created_at: iso(k.createdAt), retires_at: isoOrNull(k.retiresAt) }));
}

const DOC: OperationDoc = {
  summary: 'Admin: the token signing keys (next, active, retired)',
  answers: { 200: { description: 'Every stored key; public facts only.', body: KEY_LIST_SCHEMA } },
};

/** GET /auth/admin/keys -> [{kid, alg, state, created_at, retires_at}]. */
export function registerAdminKeysList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/admin/keys', { config: { lane: ADMIN_LANE, admin: { action: 'keys.list' }, openapi: DOC } }, async (_request, reply) => reply.send(await keyList(deps)));
}
