import { issueClientAccessToken } from '../../credentials/access-token.js';
import { grantableScopes, narrowScopes, parseScope } from '../../credentials/scope.js';
import { GatehouseError } from '../../errors/index.js';
import { BASIC_CHALLENGE } from '../client-auth.js';
import { OAUTH_JSON } from '../oauth.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';

/**
 * grant_type=client_credentials (RFC 6749 §4.4): a confidential client registered with the
 * grant gets an access token of its own (`sub` = `client_id` = the client, `gty`, no user
 * claims: credentials/access-token.ts), with `scope` a subset of its allowed scopes (default:
 * all of them), `tokens.clientCredentialsTtlSec` long, and no refresh token.
 */
export const clientCredentialsGrant: Grant = {
  type: 'client_credentials',
  params: { client_id: CLIENT_ID_PARAM, client_secret: CLIENT_SECRET_PARAM, scope: { maxLength: 4096 } },
  async handle({ reply, ctx, params, client }) {
    const { deps, auth } = ctx;
    if (client.kind === 'first_party') throw new GatehouseError('unauthorized_client', { detail: 'client_credentials is for confidential clients: authenticate with the client\'s id and secret.' });
    if (client.kind === 'unauthenticated') {
      const known = await deps.stores.clients.get(client.clientId).catch(() => null);
      if (known?.type === 'public') throw new GatehouseError('unauthorized_client', { detail: 'A public client has no secret: it cannot use client_credentials.' });
      throw new GatehouseError('invalid_client', { detail: 'client_credentials needs client authentication (HTTP Basic or client_secret).', headers: { 'www-authenticate': BASIC_CHALLENGE } });
    }
    const { clientId, grants, scopes: allowed } = client.client;
    if (!grants.includes('client_credentials')) throw new GatehouseError('unauthorized_client', { detail: 'This client is not registered for client_credentials.' });
    // Its registered scopes that tokens may still carry (tokens.defaultScopes may have shrunk since).
    const grantable = grantableScopes(deps.config);
    const scope = narrowScopes(params.scope === undefined ? undefined : parseScope(params.scope), allowed.filter((s) => grantable.includes(s))).join(' ');
    const at = await issueClientAccessToken(deps, { clientId, scope });
    deps.logger.info({ event: 'token.client_credentials', clientId, scope, jti: at.jti }, 'client credentials token issued');
    auth.metrics.grant('client_credentials');
    return reply
      .code(200)
      .header('pragma', 'no-cache')
      .type(OAUTH_JSON)
      .send(JSON.stringify({ access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope }));
  },
};
