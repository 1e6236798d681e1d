import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { passkeyName } from './passkeys-list.js';

export const passkeysRenameSchema = {
  params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 1400 } } },
  body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string', minLength: 1, maxLength: 100 } } },
} as const;

export type PasskeyParams = FromSchema<(typeof passkeysRenameSchema)['params']>;
export type PasskeysRenameBody = FromSchema<(typeof passkeysRenameSchema)['body']>;

const DOC: OperationDoc = { summary: 'Rename one of the user\'s passkeys', answers: { 204: { description: 'Renamed.' } } };

/**
 * PATCH /auth/passkeys/:id {name} -> 204; 404 when the user has no such passkey. A name is a
 * label, not a factor: no re-authentication (removing and registering ask for it). Audited.
 */
export function registerPasskeysRename(app: FastifyInstance, { deps }: EndpointContext): void {
  app.patch<{ Params: PasskeyParams; Body: PasskeysRenameBody }>('/auth/passkeys/:id', { schema: passkeysRenameSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    const name = passkeyName(request.body.name);
    if (!(await deps.stores.webauthn.renameCredential(user.id, request.params.id, name))) throw new GatehouseError('not_found', { detail: 'You have no such passkey.' });
    await recordAudit(deps, request, { type: 'passkey.renamed', userId: user.id, deviceId: passport.did ?? null, detail: { credential_id: request.params.id, name } });
    return reply.code(204).send();
  });
}
