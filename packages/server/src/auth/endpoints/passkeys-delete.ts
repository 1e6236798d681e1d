import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { hasPassword } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { requireReauthentication } from '../webauthn/reauth.js';

export const passkeysDeleteSchema = {
  params: { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 1400 } } },
  body: { type: 'object', additionalProperties: false, properties: { password: { type: 'string', minLength: 1, maxLength: 16384 } } },
} as const;

type Params = FromSchema<(typeof passkeysDeleteSchema)['params']>;
export type PasskeysDeleteBody = FromSchema<(typeof passkeysDeleteSchema)['body']>;

const DOC: OperationDoc = { summary: 'Remove one of the user\'s passkeys (the current password re-authenticates)', answers: { 204: { description: 'Removed; it no longer signs in.' } } };

/**
 * DELETE /auth/passkeys/:id {password} -> 204; 404 when the user has no such passkey; the
 * re-authentication of registration (password, or a recent sign-in for a password-less user).
 * A password-less user with no linked provider keeps at least one passkey (409
 * last_sign_in_method). Audited.
 */
export function registerPasskeysDelete(app: FastifyInstance, ctx: EndpointContext): void {
  const { deps } = ctx;
  app.delete<{ Params: Params; Body: PasskeysDeleteBody }>('/auth/passkeys/:id', { schema: passkeysDeleteSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    const mine = await deps.stores.webauthn.listCredentials(user.id);
    if (!mine.some((c) => c.id === request.params.id)) throw new GatehouseError('not_found', { detail: 'You have no such passkey.' });
    await requireReauthentication(ctx, request, user, passport, request.body?.password);
    if (!hasPassword(user) && mine.length === 1 && (await deps.stores.identities.listForUser(user.id)).length === 0) {
      throw new GatehouseError('last_sign_in_method', { detail: 'This passkey is the last way to sign in to your account. Set a password or add another passkey first.' });
    }
    if (!(await deps.stores.webauthn.deleteCredential(user.id, request.params.id))) throw new GatehouseError('not_found', { detail: 'You have no such passkey.' });
    await recordAudit(deps, request, { type: 'passkey.removed', userId: user.id, deviceId: passport.did ?? null, detail: { credential_id: request.params.id } });
    return reply.code(204).send();
  });
}
