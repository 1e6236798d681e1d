import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { redirectUriOf, safeNextPath, sendFederationRefusal } from '../federation/http.js';
import { federationCookieName, federationCookieOptions, sealTransaction } from '../federation/transaction.js';
import type { FederationProviders } from '../federation/providers/registry.js';
import type { FederationProvider } from '../federation/identity.js';
import { PUBLIC_LANE } from '../lanes.js';
import type { OperationDoc } from '../openapi.js';

export const federationProviderParams = {
  type: 'object',
  additionalProperties: false,
  required: ['provider'],
  properties: { provider: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export type FederationParams = FromSchema<typeof federationProviderParams>;

export const federationStartSchema = {
  params: federationProviderParams,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { next: { type: 'string', maxLength: 2048 } },
  },
} as const;

type StartQuery = FromSchema<(typeof federationStartSchema)['querystring']>;

const START_DOC: OperationDoc = {
  summary: 'Start a sign-in with an identity provider (a browser navigates here)',
  description:
    'Sets the sealed transaction cookie and redirects to the provider. `next` is where the browser goes once signed in: a same-origin path only (anything else becomes /).',
  answers: { 302: { description: 'To the provider’s authorization endpoint.' } },
};

/** The provider of `:provider`, or 404 not_found saying where the list is. */
export function providerOrNotFound(federation: FederationProviders, id: string): FederationProvider {
  const provider = federation.get(id);
  if (provider === undefined) {
    throw new GatehouseError('not_found', {
      detail: 'No identity provider with this id is configured. GET /auth/federation/providers lists the ones that are (federation.providers in the config).',
    });
  }
  return provider;
}

/**
 * GET /auth/federation/:provider/start?next= -> 302 to the provider, with the sealed transaction
 * (state, nonce, PKCE verifier, next, mode signin) in the `gatehouse_federation` cookie. An
 * unknown provider is 404; a provider whose discovery fails is 503 federation_unavailable with
 * Retry-After (an HTML page for a browser).
 */
export function registerFederationStart(app: FastifyInstance, { deps, federation }: EndpointContext): void {
  app.get<{ Params: FederationParams; Querystring: StartQuery }>(
    '/auth/federation/:provider/start',
    { schema: federationStartSchema, config: { lane: PUBLIC_LANE, openapi: START_DOC } },
    async (request, reply) => {
      const id = request.params.provider;
      try {
        const provider = providerOrNotFound(federation, id);
        const next = safeNextPath(request.query.next);
        const { url, transaction } = await provider.start({ redirectUri: redirectUriOf(deps.config, provider.id) });
        const sealed = await sealTransaction(deps.federationKey, { provider: provider.id, transaction, next, mode: { kind: 'signin' } }, deps.clock);
        reply.setCookie(federationCookieName(deps.config), sealed, federationCookieOptions(deps.config));
        return reply.redirect(url, 302);
      } catch (err) {
        return sendFederationRefusal(deps, request, reply, id, err);
      }
    },
  );
}
