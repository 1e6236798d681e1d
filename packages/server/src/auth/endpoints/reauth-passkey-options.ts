import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { passkeyAuthenticationOptions } from '../webauthn/ceremony.js';
import { checkCeremonyOrigin } from '../webauthn/http.js';

const DOC: OperationDoc = {
  summary: 'Begin a re-authentication with a passkey (WebAuthn request options for the session\'s user)',
  answers: {
    200: { description: 'PublicKeyCredentialRequestOptionsJSON: the user\'s passkeys listed; the challenge bound to the user, good once, 5 minutes. The assertion goes to POST /auth/reauth as `passkey`.', body: { type: 'object' } },
  },
};

/**
 * POST /auth/reauth/passkey-options (browser session + CSRF token) -> 200 request options for the
 * session's user: its passkeys in the allow list, the challenge stored bound to that user (the
 * `passkey` proof of POST /auth/reauth refuses an assertion for any other challenge). 409
 * `mfa_not_enrolled` when the user has no passkey.
 */
export function registerReauthPasskeyOptions(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/reauth/passkey-options', { config: { lane: BROWSER_SESSION_LANE, openapi: DOC } }, async (request, reply) => {
    checkCeremonyOrigin(deps, request);
    const user = await accountOf(deps, passportOf(request));
    if ((await deps.stores.webauthn.listCredentials(user.id)).length === 0) {
      throw new GatehouseError('mfa_not_enrolled', { detail: 'This account has no passkey: re-authenticate with the password or a one-time code.' });
    }
    return reply.code(200).header('cache-control', 'no-store').send(await passkeyAuthenticationOptions(deps, { userId: user.id }));
  });
}
