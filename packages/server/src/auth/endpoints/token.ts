import type { FastifyInstance, FastifyReply } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { SessionRecord, UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { OAUTH_JSON, readParams, requireParam, type ParamSpec } from '../oauth.js';
import { checkDeviceField } from '../policy/device.js';
import { createDeviceSession } from '../sessions.js';
import { checkSignin } from '../signin-guard.js';
import { authenticateTokenClient, type TokenClient } from '../client-auth.js';
import { ACCESS_TOKEN_CLIENT_ID, issueAccessToken, issueClientAccessToken } from '../../credentials/access-token.js';
import { issueFirstRefreshToken, redeemRefreshToken } from '../refresh-token.js';
import { TOKEN_GRANT_TYPES } from '../../credentials/token-endpoint-metadata.js';
import { grantableScopes, narrowScopes, parseScope, tokenScopes } from '../../credentials/scope.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

type TokenParam = 'grant_type' | 'client_id' | 'client_secret' | 'username' | 'password' | 'device_id' | 'device_name' | 'scope' | 'refresh_token';

/** The parameters of POST /auth/token (form or JSON), with their longest values. */
export const tokenParams: Record<TokenParam, ParamSpec> = {
  grant_type: { maxLength: 64 },
  client_id: { maxLength: 128 },
  client_secret: { maxLength: 1024 },
  username: { maxLength: 256 },
  password: { maxLength: 16384 },
  device_id: { maxLength: 512 },
  device_name: { maxLength: 512 },
  scope: { maxLength: 4096 },
  // Generous: anything that is not a refresh token is invalid_grant (an access token sent here too).
  refresh_token: { maxLength: 16384 },
};

const PASSWORD_GRANT: ReadonlySet<TokenParam> = new Set(['grant_type', 'client_id', 'username', 'password', 'device_id', 'device_name', 'scope']);
const REFRESH_GRANT: ReadonlySet<TokenParam> = new Set(['grant_type', 'client_id', 'refresh_token', 'scope']);
const CLIENT_CREDENTIALS_GRANT: ReadonlySet<TokenParam> = new Set(['grant_type', 'client_id', 'client_secret', 'scope']);


function onlyParams(params: Partial<Record<TokenParam, string>>, allowed: ReadonlySet<TokenParam>, grant: string): void {
  for (const k of Object.keys(params) as TokenParam[]) {
    if (!allowed.has(k)) throw new GatehouseError('invalid_request', { detail: `The parameter "${k}" does not belong to grant_type=${grant}.` });
  }
}

async function answer(
  reply: FastifyReply,
  ctx: EndpointContext,
  grant: { user: UserRecord; session: SessionRecord; scope: string; refreshToken: string },
): Promise<FastifyReply> {
  const at = await issueAccessToken(ctx.deps, grant);
  return reply
    .code(200)
    .header('pragma', 'no-cache')
    .type(OAUTH_JSON)
    .send(JSON.stringify({ access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, refresh_token: grant.refreshToken, scope: grant.scope }));
}

const TOKEN_DOC: OperationDoc = {
  summary: 'Tokens for apps, TVs and services: password grant (a device session), refresh-token rotation, client credentials (RFC 6749)',
  description:
    'Clients: the first-party client (client_id omitted or "gatehouse", no secret) for password and refresh_token; a confidential client with client_secret_basic (HTTP Basic) or client_secret_post (client_id and client_secret in the body), never both, for client_credentials (no refresh token). Client authentication failures: 401 invalid_client with WWW-Authenticate: Basic.',
  answers: {
    200: {
      description: 'An access token and, except for client_credentials, the next refresh token.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['access_token', 'token_type', 'expires_in', 'scope'],
        properties: {
          access_token: { type: 'string' },
          token_type: { type: 'string', enum: ['Bearer'] },
          expires_in: { type: 'integer' },
          refresh_token: { type: 'string' },
          scope: { type: 'string' },
        },
      },
    },
  },
};

/** The password and refresh-token grants are the first-party client's (`gatehouse`, public, no secret) only. */
function firstPartyOnly(client: TokenClient): void {
  if (client.kind === 'unauthenticated') {
    throw new GatehouseError('invalid_client', { detail: `Unknown client; omit client_id or send "${ACCESS_TOKEN_CLIENT_ID}".`, headers: { 'www-authenticate': 'Basic realm="gatehouse"' } });
  }
  if (client.kind === 'confidential') throw new GatehouseError('unauthorized_client', { detail: 'This grant type is for the first-party client only.' });
}

/**
 * grant_type=client_credentials (RFC 6749 §4.4): a confidential client registered with the
 * grant gets an access token of its own (`sub` = `client_id` = the client, `gty`, no user
 * claims: credentials/access-token.ts), with `scope` a subset of its allowed scopes (default:
 * all of them), `tokens.clientCredentialsTtlSec` long, and no refresh token.
 */
async function clientCredentials(reply: FastifyReply, ctx: EndpointContext, client: TokenClient, scopeParam: string | undefined): Promise<FastifyReply> {
  const { deps, auth } = ctx;
  if (client.kind === 'first_party') throw new GatehouseError('unauthorized_client', { detail: 'client_credentials is for confidential clients: authenticate with the client\'s id and secret.' });
  if (client.kind === 'unauthenticated') {
    const known = await deps.stores.clients.get(client.clientId).catch(() => null);
    if (known?.type === 'public') throw new GatehouseError('unauthorized_client', { detail: 'A public client has no secret: it cannot use client_credentials.' });
    throw new GatehouseError('invalid_client', { detail: 'client_credentials needs client authentication (HTTP Basic or client_secret).', headers: { 'www-authenticate': 'Basic realm="gatehouse"' } });
  }
  const { clientId, grants, scopes: allowed } = client.client;
  if (!grants.includes('client_credentials')) throw new GatehouseError('unauthorized_client', { detail: 'This client is not registered for client_credentials.' });
  // Its registered scopes that tokens may still carry (tokens.defaultScopes may have shrunk since).
  const grantable = grantableScopes(deps.config);
  const scope = narrowScopes(scopeParam === undefined ? undefined : parseScope(scopeParam), allowed.filter((s) => grantable.includes(s))).join(' ');
  const at = await issueClientAccessToken(deps, { clientId, scope });
  deps.logger.info({ event: 'token.client_credentials', clientId, scope, jti: at.jti }, 'client credentials token issued');
  auth.metrics.grant('client_credentials');
  return reply
    .code(200)
    .header('pragma', 'no-cache')
    .type(OAUTH_JSON)
    .send(JSON.stringify({ access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, scope }));
}

/**
 * POST /auth/token (RFC 6749 §4.3, §4.4, §6; form or JSON) for first-party apps and TVs, and services:
 * - grant_type=client_credentials (client_secret_basic or client_secret_post): a service's own token;
 * - grant_type=password with username, password, device_id (device_name, scope optional):
 *   a device session exactly like a browser sign-in (the same device's earlier session ends),
 *   its first refresh token and an access token; `scope` defaults to `tokens.defaultScopes` and
 *   may name `account` (this client is first-party) to reach the account endpoints;
 * - grant_type=refresh_token with refresh_token (scope optional, may only narrow): rotation.
 * 200 {access_token, token_type, expires_in, refresh_token, scope}; errors 400 {error, error_description}.
 */
export function registerToken(app: FastifyInstance, ctx: EndpointContext): void {
  const { deps, auth } = ctx;
  app.post('/auth/token', { config: { lane: PUBLIC_LANE, oauthParams: tokenParams, openapi: TOKEN_DOC } }, async (request, reply) => {
    const params = readParams(request.body, tokenParams);
    const grantType = requireParam(params, 'grant_type');
    const client = await authenticateTokenClient(deps, request, params);

    if (grantType === 'client_credentials') {
      onlyParams(params, CLIENT_CREDENTIALS_GRANT, grantType);
      return clientCredentials(reply, ctx, client, params.scope);
    }
    firstPartyOnly(client);

    if (grantType === 'password') {
      onlyParams(params, PASSWORD_GRANT, grantType);
      const username = requireParam(params, 'username');
      const password = requireParam(params, 'password');
      const deviceId = checkDeviceField(requireParam(params, 'device_id'), 'device_id', 'id');
      const deviceName = params.device_name === undefined ? null : checkDeviceField(params.device_name, 'device_name', 'name');
      // Checked before the password, so the answer says nothing about the account.
      // First-party: the account scope is granted when asked for by name, never by default.
      const scopes = tokenScopes(deps.config, params.scope === undefined ? undefined : parseScope(params.scope), true);
      const check = await checkSignin(auth, request, { username, password, via: 'password_grant', deviceId });
      if (!check.ok) throw new GatehouseError('invalid_grant', { detail: 'The username or password is wrong.' });
      const { user } = check;
      const scope = scopes.join(' ');
      const { session, replaced } = await createDeviceSession(deps, { user, deviceId, deviceName, persistent: true, scope });
      const refreshToken = await issueFirstRefreshToken(deps, session);
      await recordAudit(deps, request, {
        type: 'signin.success',
        userId: user.id,
        deviceId,
        detail: { via: 'password_grant', sid: session.id, scope, replaced: replaced.length, known_device: check.knownDevice },
      });
      auth.metrics.grant('password');
      return answer(reply, ctx, { user, session, scope, refreshToken });
    }

    if (grantType === 'refresh_token') {
      onlyParams(params, REFRESH_GRANT, grantType);
      const token = requireParam(params, 'refresh_token');
      const requested = params.scope === undefined ? undefined : parseScope(params.scope);
      const redeemed = await redeemRefreshToken(deps, token, requested, request);
      const { scope } = redeemed;
      deps.logger.info(
        { event: 'token.refresh', userId: redeemed.user.id, sid: redeemed.session.id, outcome: redeemed.outcome, ip: clientIp(request) },
        'refresh token redeemed',
      );
      auth.metrics.grant('refresh_token');
      return answer(reply, ctx, { user: redeemed.user, session: redeemed.session, scope, refreshToken: redeemed.refreshToken });
    }

    throw new GatehouseError('unsupported_grant_type', { detail: `Supported grant types: ${TOKEN_GRANT_TYPES.join(', ')}.` });
  });
}
