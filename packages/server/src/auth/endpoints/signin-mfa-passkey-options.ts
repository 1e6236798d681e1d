import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { liveTicket } from '../mfa/ticket.js';
import { type OperationDoc } from '../openapi.js';
import { passkeyAuthenticationOptions } from '../webauthn/ceremony.js';
import { checkCeremonyOrigin } from '../webauthn/http.js';
import { signinMfaSchema } from './signin-mfa.js';

export const signinMfaPasskeyOptionsSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['ticket'],
    properties: { ticket: signinMfaSchema.body.properties.ticket },
  },
} as const;

export type SigninMfaPasskeyOptionsBody = FromSchema<(typeof signinMfaPasskeyOptionsSchema)['body']>;

const DOC: OperationDoc = {
  summary: 'Begin the passkey second step of a sign-in that answered 401 mfa_required (WebAuthn request options for the ticket\'s user)',
  answers: {
    200: { description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get: the user\'s passkeys listed; the challenge bound to that user, good once, 5 minutes.', body: { type: 'object' } },
  },
};

/**
 * POST /auth/signin/mfa/passkey-options {ticket} -> 200 request options for the ticket's user
 * (its passkeys in the allow list, user verification preferred); the challenge is stored bound to
 * that user, so only an assertion by one of its passkeys finishes POST /auth/signin/mfa. The
 * ticket is read, not taken (the second step takes it); 401 `invalid_mfa_ticket` for an unknown,
 * used or expired one, 409 `mfa_not_enrolled` when the user has no passkey. Behind the gateway's
 * login-CSRF check, as /auth/signin (same route prefix).
 */
export function registerSigninMfaPasskeyOptions(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: SigninMfaPasskeyOptionsBody }>(
    '/auth/signin/mfa/passkey-options',
    { schema: signinMfaPasskeyOptionsSchema, config: { lane: PUBLIC_LANE, openapi: DOC } },
    async (request, reply) => {
      checkCeremonyOrigin(deps, request);
      const ticket = await liveTicket(deps, request.body.ticket, ['signin', 'signin_app']);
      if (!ticket) throw new GatehouseError('invalid_mfa_ticket');
      if ((await deps.stores.webauthn.listCredentials(ticket.userId)).length === 0) {
        throw new GatehouseError('mfa_not_enrolled', { detail: 'This account has no passkey: finish with a one-time code or a recovery code.' });
      }
      return reply.code(200).header('cache-control', 'no-store').send(await passkeyAuthenticationOptions(deps, { userId: ticket.userId }));
    },
  );
}
