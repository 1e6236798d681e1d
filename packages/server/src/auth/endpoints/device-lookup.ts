import type { FastifyInstance } from 'fastify';
import { underUserCodeLimits, formatUserCode, invalidUserCode, normaliseUserCode, userCodeBodySchema, type UserCodeBody } from '../device-flow.js';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const DEVICE_LOOKUP_DOC: OperationDoc = {
  summary: 'The device waiting for this user code: which client, which device, which scopes (the /device page)',
  description: 'A wrong, expired, decided or used code: 400 invalid_user_code, one answer for all. Wrong codes are limited per IP and overall (429).',
  answers: {
    200: {
      description: 'The pending request the code names.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['user_code', 'client_id', 'client_name', 'device_name', 'scopes', 'expires_at'],
        properties: {
          user_code: { type: 'string' },
          client_id: { type: 'string' },
          client_name: { type: 'string' },
          device_name: { type: ['string', 'null'] },
          scopes: { type: 'array', items: { type: 'string' } },
          expires_at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
};

/**
 * POST /auth/device/lookup {user_code} (browser session; a POST, so the gateway holds it to the
 * CSRF token, and because every wrong code counts against the guessing limits) -> 200 {user_code,
 * client_id, client_name, device_name, scopes, expires_at} of the pending request, for the
 * person to check before approving.
 */
export function registerDeviceLookup(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: UserCodeBody }>(
    '/auth/device/lookup',
    { schema: userCodeBodySchema, config: { lane: BROWSER_SESSION_LANE, openapi: DEVICE_LOOKUP_DOC } },
    async (request, reply) => {
      const code = normaliseUserCode(request.body.user_code);
      const found = await underUserCodeLimits(deps, request, async () => {
        if (code === null) return null;
        const record = await deps.stores.deviceCodes.findPendingByUserCode(code, deps.clock.now());
        if (record === null) return null;
        const client = await deps.stores.clients.get(record.clientId);
        return client === null ? null : { record, client };
      });
      if (found === null) throw invalidUserCode();
      const { record, client } = found;
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .send({
          user_code: formatUserCode(record.userCode),
          client_id: client.clientId,
          client_name: client.name,
          device_name: record.deviceName,
          scopes: record.scope === '' ? [] : record.scope.split(' '),
          expires_at: iso(record.expiresAt),
        });
    },
  );
}
