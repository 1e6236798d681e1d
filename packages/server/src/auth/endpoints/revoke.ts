import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../context.js';
import { hashSecret } from '../../crypto/secrets.js';
import { isRefreshTokenShape, isWellFormedApiToken } from '../../credentials/token-formats.js';
import { GatehouseError } from '../../errors/index.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { readParams, requireParam, type ParamSpec } from '../oauth.js';
import type { ReceiptRequest } from '../revocation-receipt.js';
import { endSessions, publishRevocation } from '../sessions.js';
import { claimsClientCredentials, verifyAccessToken, verifyClientAccessToken } from '../../credentials/access-token.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

type RevokeParam = 'token' | 'token_type_hint' | 'client_id';

/** The parameters of POST /auth/revoke (form or JSON). `token_type_hint` is accepted and not needed: each kind has its own format. */
export const revokeParams: Record<RevokeParam, ParamSpec> = {
  token: { maxLength: 16384 },
  token_type_hint: { maxLength: 64 },
  client_id: { maxLength: 128 },
};

/** How long past its expiry a revoked access token's entry is kept (clock skew between gateways). */
const ACCESS_TOKEN_REVOCATION_SLACK_MS = 60_000;

export type RevokedKind = 'refresh_token' | 'access_token' | 'client_token' | 'api_token' | 'none';

/**
 * Revokes whatever `token` is (RFC 7009): a refresh token ends its device session (so its
 * access tokens die too); an access token is revoked by `jti` until it expires; an API token is
 * deleted; a service client's token (client credentials) is revoked by `jti` like an access
 * token. Unknown, expired or malformed tokens are ignored. Returns what was revoked.
 */
export async function revokeToken(deps: Deps, token: string, request?: ReceiptRequest): Promise<{ kind: RevokedKind; userId?: string }> {
  if (isRefreshTokenShape(token)) {
    const record = await deps.stores.refreshTokens.findByHash(hashSecret(token));
    if (!record) return { kind: 'none' };
    const session = await deps.stores.sessions.findById(record.sessionId);
    await endSessions(deps, { sessionIds: [record.sessionId] }, request);
    return session ? { kind: 'refresh_token', userId: session.userId } : { kind: 'refresh_token' };
  }
  if (isWellFormedApiToken(token)) {
    const record = await deps.stores.apiTokens.findByHash(hashSecret(token));
    if (!record || !(await deps.stores.apiTokens.delete(record.id, record.userId))) return { kind: 'none' };
    await publishRevocation(deps, { type: 'api_token', tokenId: record.id, at: deps.clock.now() }, request);
    return { kind: 'api_token', userId: record.userId };
  }
  if (token.split('.').length === 3) {
    const client = claimsClientCredentials(token);
    let claims: { jti: string; exp: number; sub: string };
    try {
      claims = client ? await verifyClientAccessToken(deps, token) : await verifyAccessToken(deps, token);
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'invalid_token') return { kind: 'none' };
      throw err;
    }
    await publishRevocation(
      deps,
      { type: 'access_token', jti: claims.jti, exp: claims.exp, at: deps.clock.now() },
      request,
      claims.exp * 1000 + ACCESS_TOKEN_REVOCATION_SLACK_MS,
    );
    // A client token's sub is the client id, not a user's.
    return client ? { kind: 'client_token' } : { kind: 'access_token', userId: claims.sub };
  }
  return { kind: 'none' };
}

const REVOKE_DOC: OperationDoc = {
  summary: 'Revoke a refresh, access or API token (RFC 7009)',
  answers: { 200: { description: 'Done, whether or not the token was known (no body).' } },
};

/**
 * POST /auth/revoke (RFC 7009; form or JSON) -> 200 for any well-formed request, whether or not
 * the token was known. Holding the token is the authorization to revoke it. Missing token:
 * 400 invalid_request.
 */
export function registerRevoke(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/revoke', { config: { lane: PUBLIC_LANE, oauthParams: revokeParams, openapi: REVOKE_DOC } }, async (request, reply) => {
    const params = readParams(request.body, revokeParams);
    const token = requireParam(params, 'token');
    const { kind, userId } = await revokeToken(deps, token, request);
    deps.logger.info({ event: 'token.revoked', kind, userId, hint: params.token_type_hint, ip: clientIp(request) }, 'token revocation request');
    return reply.code(200).header('pragma', 'no-cache').send();
  });
}
