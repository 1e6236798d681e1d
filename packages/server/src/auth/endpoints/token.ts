import type { FastifyInstance, FastifyReply } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { SessionRecord, UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { OAUTH_JSON, readParams, requireParam, type ParamSpec } from '../oauth.js';
import { checkDeviceField } from '../policy/device.js';
import { createDeviceSession } from '../sessions.js';
import { checkSignin } from '../signin-guard.js';
import { ACCESS_TOKEN_CLIENT_ID, issueAccessToken } from '../../credentials/access-token.js';
import { issueFirstRefreshToken, redeemRefreshToken } from '../refresh-token.js';
import { parseScope, tokenScopes } from '../../credentials/scope.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

type TokenParam = 'grant_type' | 'client_id' | 'username' | 'password' | 'device_id' | 'device_name' | 'scope' | 'refresh_token';

/** The parameters of POST /auth/token (form or JSON), with their longest values. */
export const tokenParams: Record<TokenParam, ParamSpec> = {
  grant_type: { maxLength: 64 },
  client_id: { maxLength: 128 },
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
  summary: 'Tokens for apps and TVs: password grant (a device session) or refresh-token rotation (RFC 6749)',
  answers: {
    200: {
      description: 'An access token and the next refresh token.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope'],
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

/**
 * POST /auth/token (RFC 6749 §4.3, §6; form or JSON) for first-party apps and TVs:
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
    if (params.client_id !== undefined && params.client_id !== ACCESS_TOKEN_CLIENT_ID) {
      throw new GatehouseError('invalid_client', { detail: `Unknown client; omit client_id or send "${ACCESS_TOKEN_CLIENT_ID}".` });
    }

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

    throw new GatehouseError('unsupported_grant_type', { detail: 'Supported grant types: password, refresh_token.' });
  });
}
