import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { redirectUriOf } from '../federation/http.js';
import { federationCookieName, federationCookieOptions, sealTransaction } from '../federation/transaction.js';
import { accountOf, passportOf } from '../passport.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import type { OperationDoc } from '../openapi.js';
import { federationProviderParams, providerOrNotFound, type FederationParams } from './federation-start.js';

const LINK_DOC: OperationDoc = {
  summary: 'Start linking an identity provider to the signed-in account (the page then navigates to url)',
  description:
    'Sets the sealed transaction cookie (mode link, this account) and answers the provider URL. The callback links the provider’s account only if it arrives with a session of this same account.',
  answers: {
    200: {
      description: 'Navigate the browser to url.',
      body: { type: 'object', additionalProperties: false, required: ['url'], properties: { url: { type: 'string' } } },
    },
  },
};

/**
 * POST /auth/federation/:provider/link -> 200 {url}. A browser session only (BROWSER_SESSION_LANE:
 * the callback must find the same account's session cookie, which a token caller has not got;
 * the gateway holds this write to the CSRF token). The callback refuses a link whose session is
 * another account's (linking CSRF).
 */
export function registerFederationLink(app: FastifyInstance, { deps, federation }: EndpointContext): void {
  app.post<{ Params: FederationParams }>(
    '/auth/federation/:provider/link',
    { schema: { params: federationProviderParams }, config: { lane: BROWSER_SESSION_LANE, openapi: LINK_DOC } },
    async (request, reply) => {
      const user = await accountOf(deps, passportOf(request));
      const provider = providerOrNotFound(federation, request.params.provider);
      const { url, transaction } = await provider.start({ redirectUri: redirectUriOf(deps.config, provider.id) });
      const sealed = await sealTransaction(deps.federationKey, { provider: provider.id, transaction, next: '/account', mode: { kind: 'link', userId: user.id } }, deps.clock);
      reply.setCookie(federationCookieName(deps.config), sealed, federationCookieOptions(deps.config));
      return reply.code(200).send({ url });
    },
  );
}
