import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { passkeyAuthenticationOptions } from '../webauthn/ceremony.js';
import { checkCeremonyOrigin } from '../webauthn/http.js';

const DOC: OperationDoc = {
  summary: 'Begin a passwordless sign-in with a passkey (WebAuthn request options, discoverable credentials)',
  answers: { 200: { description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get (no allow list; good once, 5 minutes).', body: { type: 'object' } } },
};

/**
 * POST /auth/signin/passkey/options -> 200 request options: no username, no allow list (the
 * authenticator offers its discoverable credentials for this RP id), user verification
 * required. The challenge is stored (any instance may finish the sign-in). Behind the gateway's
 * login-CSRF check, as /auth/signin (same route prefix).
 */
export function registerSigninPasskeyOptions(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/signin/passkey/options', { config: { lane: PUBLIC_LANE, openapi: DOC } }, async (request, reply) => {
    checkCeremonyOrigin(deps, request);
    return reply.code(200).header('cache-control', 'no-store').send(await passkeyAuthenticationOptions(deps));
  });
}
