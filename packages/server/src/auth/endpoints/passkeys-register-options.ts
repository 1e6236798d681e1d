import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { passkeyRegistrationOptions } from '../webauthn/ceremony.js';
import { checkCeremonyOrigin } from '../webauthn/http.js';
import { requireReauthentication } from '../webauthn/reauth.js';

export const passkeysRegisterOptionsSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

export type PasskeysRegisterOptionsBody = FromSchema<(typeof passkeysRegisterOptionsSchema)['body']>;

const DOC: OperationDoc = {
  summary: 'Begin registering a passkey (WebAuthn creation options; the current password re-authenticates)',
  answers: { 200: { description: 'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create (good once, 5 minutes).', body: { type: 'object' } } },
};

/**
 * POST /auth/passkeys/options {password} -> 200 creation options. A browser session only (a
 * passkey is made in a browser, for this origin). The current password is required for a user
 * who has one (401 invalid_credentials; limited like a password change); a password-less user
 * must have signed in within 10 minutes (403). The challenge is stored, bound to the user.
 */
export function registerPasskeysRegisterOptions(app: FastifyInstance, ctx: EndpointContext): void {
  const { deps } = ctx;
  app.post<{ Body: PasskeysRegisterOptionsBody }>(
    '/auth/passkeys/options',
    { schema: passkeysRegisterOptionsSchema, config: { lane: BROWSER_SESSION_LANE, openapi: DOC } },
    async (request, reply) => {
      checkCeremonyOrigin(deps, request);
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      await requireReauthentication(ctx, request, user, passport, request.body?.password);
      return reply.code(200).header('cache-control', 'no-store').send(await passkeyRegistrationOptions(deps, user));
    },
  );
}
