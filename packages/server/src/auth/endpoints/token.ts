import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { readParams, requireParam, type ParamSpec } from '../oauth.js';
import { authenticateTokenClient } from '../client-auth.js';
import { TOKEN_GRANT_TYPES } from '../../credentials/token-endpoint-metadata.js';
import { onlyParams } from '../grants/grant.js';
import { GRANTS } from '../grants/registry.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const byType = new Map(GRANTS.map((g) => [g.type, g]));

/** The parameters of POST /auth/token (form or JSON), with their longest values: every grant's, once each. */
export const tokenParams: Record<string, ParamSpec> = { grant_type: { maxLength: 128 } };
for (const g of GRANTS) {
  for (const [name, spec] of Object.entries(g.params)) {
    const seen = tokenParams[name];
    if (!seen || spec.maxLength > seen.maxLength) tokenParams[name] = spec;
  }
}

const TOKEN_DOC: OperationDoc = {
  summary: 'Tokens for apps, TVs and services: password grant (a device session), refresh-token rotation, client credentials (RFC 6749), device code (RFC 8628), token exchange (RFC 8693)',
  description:
    'Clients: the first-party client (client_id omitted or "gatehouse", no secret) for password and refresh_token; a registered public client by client_id alone for urn:ietf:params:oauth:grant-type:device_code and the refresh_token of its device sessions (RFC 8628 polling errors: authorization_pending, slow_down, access_denied, expired_token); a confidential client with client_secret_basic (HTTP Basic) or client_secret_post (client_id and client_secret in the body), never both, for client_credentials (no refresh token) and token exchange (grant_type=urn:ietf:params:oauth:grant-type:token-exchange: subject_token = a passport the client\'s service received, subject_token_type=urn:ietf:params:oauth:token-type:jwt, audience = the next service; the answer is a passport for it, issued_token_type jwt, token_type N_A, no refresh token). Client authentication failures: 401 invalid_client with WWW-Authenticate: Basic.',
  answers: {
    200: {
      description: 'An access token and, for the password, refresh_token and device_code grants, the next refresh token; for token exchange, a passport for the audience (issued_token_type).',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['access_token', 'token_type', 'expires_in'],
        properties: {
          access_token: { type: 'string' },
          issued_token_type: { type: 'string', enum: ['urn:ietf:params:oauth:token-type:jwt'] },
          token_type: { type: 'string', enum: ['Bearer', 'N_A'] },
          expires_in: { type: 'integer' },
          refresh_token: { type: 'string' },
          scope: { type: 'string' },
        },
      },
    },
  },
};

/**
 * POST /auth/token (RFC 6749; form or JSON): reads the parameters, authenticates the client
 * (auth/client-auth.ts), and hands both to the grant named by `grant_type` (auth/grants/, one
 * file each: password, refresh_token, client_credentials, device_code, token exchange). 200
 * {access_token, token_type, expires_in, refresh_token?, scope?, issued_token_type?}; errors in the
 * OAuth shape {error, error_description}.
 */
export function registerToken(app: FastifyInstance, ctx: EndpointContext): void {
  const { deps } = ctx;
  app.post('/auth/token', { config: { lane: PUBLIC_LANE, oauthParams: tokenParams, openapi: TOKEN_DOC } }, async (request, reply) => {
    const params = readParams(request.body, tokenParams);
    const grantType = requireParam(params, 'grant_type');
    const client = await authenticateTokenClient(deps, request, params);
    const grant = byType.get(grantType);
    if (!grant) throw new GatehouseError('unsupported_grant_type', { detail: `Supported grant types: ${TOKEN_GRANT_TYPES.join(', ')}.` });
    onlyParams(params, grant);
    return grant.handle({ request, reply, ctx, params, client });
  });
}
