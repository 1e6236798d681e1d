import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { adminCallOf } from '../admin/guard.js';
import { keyList, KEY_LIST_SCHEMA } from './admin-keys-list.js';

const DOC: OperationDoc = {
  summary: 'Admin: rotate the signing key (what `gatehouse keys rotate` does)',
  answers: { 200: { description: 'The keys after the rotation: the new one `next` (signs in 2 minutes), the current ones retiring then.', body: KEY_LIST_SCHEMA } },
};

/** POST /auth/admin/keys/rotate -> the key list after `Keyring.rotate`. */
export function registerAdminKeysRotate(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/admin/keys/rotate', { config: { lane: ADMIN_LANE, admin: { action: 'keys.rotate' }, openapi: DOC } }, async (request, reply) => {
    const call = adminCallOf(request);
    const key = await deps.keyring.rotate();
    call.detail.kid = key.kid;
    deps.logger.info({ event: 'keys.rotated', kid: key.kid, by: call.admin.id }, 'signing key rotated');
    return reply.send(await keyList(deps));
  });
}
