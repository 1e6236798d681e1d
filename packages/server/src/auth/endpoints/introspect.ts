import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { hashSecret, safeEqual } from '../../crypto/secrets.js';
import { isRefreshTokenShape, isWellFormedApiToken } from '../../credentials/token-formats.js';
import { GatehouseError } from '../../errors/index.js';
import { basicCredentials, invalidClient } from '../client-auth.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { OAUTH_JSON, readParams, requireParam, type ParamSpec } from '../oauth.js';
import { isSessionLive } from '../sessions.js';
import { ACCESS_TOKEN_CLIENT_ID, verifyAccessToken } from '../../credentials/access-token.js';
import { resolveApiToken } from '../../credentials/api-token.js';
import { grantableScopes } from '../../credentials/scope.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { isDisabled } from '../../stores/types.js';

type IntrospectParam = 'token' | 'token_type_hint' | 'client_id' | 'client_secret';

/** The parameters of POST /auth/introspect (form or JSON). */
export const introspectParams: Record<IntrospectParam, ParamSpec> = {
  token: { maxLength: 16384 },
  token_type_hint: { maxLength: 64 },
  client_id: { maxLength: 128 },
  client_secret: { maxLength: 1024 },
};

const INACTIVE = { active: false } as const;

/**
 * Authenticates the caller against `introspection.clients`: HTTP Basic (or client_id and
 * client_secret in the body, for callers behind a proxy that drops Authorization; not both).
 * The secret's SHA-256 is compared with every configured client in constant time.
 */
function authenticateClient(deps: Deps, request: FastifyRequest, params: Partial<Record<IntrospectParam, string>>): string {
  const basic = basicCredentials(request);
  const inBody = params.client_id !== undefined || params.client_secret !== undefined;
  if (basic && inBody) throw new GatehouseError('invalid_request', { detail: 'Send the client credentials once: HTTP Basic or the body, not both.' });
  const creds = basic ?? (inBody ? { id: params.client_id ?? '', secret: params.client_secret ?? '' } : null);
  if (!creds) throw invalidClient('Introspection needs client credentials (HTTP Basic).');
  const digest = hashSecret(creds.secret);
  let match: string | null = null;
  for (const c of deps.config.introspection.clients) {
    const idOk = safeEqual(c.id, creds.id);
    const secretOk = safeEqual(c.secretSha256, digest);
    if (idOk && secretOk) match = c.id;
  }
  if (match === null) throw invalidClient();
  return match;
}

type Introspection = { active: false } | ({ active: true } & Record<string, unknown>);

async function introspectAccessToken(deps: Deps, token: string): Promise<Introspection> {
  let claims;
  try {
    claims = await verifyAccessToken(deps, token);
  } catch (err) {
    if (err instanceof GatehouseError && err.code === 'invalid_token') return INACTIVE;
    throw err;
  }
  const session = await deps.stores.sessions.findById(claims.sid);
  if (!session || session.userId !== claims.sub || !isSessionLive(session, deps.clock.now())) return INACTIVE;
  // Revoked by jti (RFC 7009) since it was issued.
  const events = await deps.stores.revocations.since(claims.iat * 1000 - 60_000);
  if (events.some((e) => e.type === 'access_token' && e.jti === claims.jti)) return INACTIVE;
  const user = await deps.stores.users.findById(claims.sub);
  // A disabled user's tokens are not active (issue 18), as at the gateway.
  if (!user || isDisabled(user)) return INACTIVE;
  return {
    active: true,
    token_type: 'access_token',
    sub: claims.sub,
    username: user.username,
    scope: claims.scope,
    exp: claims.exp,
    iat: claims.iat,
    client_id: claims.client_id,
    sid: claims.sid,
    did: claims.did,
    jti: claims.jti,
    iss: claims.iss,
    aud: claims.aud,
  };
}

async function introspectRefreshToken(deps: Deps, token: string): Promise<Introspection> {
  const record = await deps.stores.refreshTokens.findByHash(hashSecret(token));
  // Only the current token of a family is active; a rotated one is spent.
  if (!record || record.rotatedAt !== null) return INACTIVE;
  const session = await deps.stores.sessions.findById(record.sessionId);
  if (!session || !isSessionLive(session, deps.clock.now())) return INACTIVE;
  const user = await deps.stores.users.findById(session.userId);
  if (!user || isDisabled(user)) return INACTIVE;
  return {
    active: true,
    token_type: 'refresh_token',
    sub: user.id,
    username: user.username,
    scope: session.scope ?? grantableScopes(deps.config).join(' '),
    exp: Math.floor(Math.min(session.expiresAt, session.absoluteExpiresAt) / 1000),
    iat: Math.floor(record.createdAt / 1000),
    // The client it was issued to: a device-flow client's, or the first party.
    client_id: record.clientId ?? ACCESS_TOKEN_CLIENT_ID,
    sid: session.id,
    did: session.deviceId,
  };
}

async function introspectApiToken(deps: Deps, token: string): Promise<Introspection> {
  const resolved = await resolveApiToken(deps, token);
  if (!resolved) return INACTIVE;
  const { token: t, user } = resolved;
  // Kept in the store while its user is disabled, and refused (issue 18): not active.
  if (isDisabled(user)) return INACTIVE;
  return {
    active: true,
    token_type: 'api_token',
    sub: user.id,
    username: user.username,
    scope: t.scopes.join(' '),
    ...(t.expiresAt === null ? {} : { exp: Math.floor(t.expiresAt / 1000) }),
    iat: Math.floor(t.createdAt / 1000),
    client_id: ACCESS_TOKEN_CLIENT_ID,
    token_id: t.id,
  };
}

/** What a token is and whether it is active now (RFC 7662 §2.2); `{active: false}` for anything not active. */
export async function introspectToken(deps: Deps, token: string): Promise<Introspection> {
  if (isRefreshTokenShape(token)) return introspectRefreshToken(deps, token);
  if (isWellFormedApiToken(token)) return introspectApiToken(deps, token);
  if (token.split('.').length === 3) return introspectAccessToken(deps, token);
  return INACTIVE;
}

const INTROSPECT_DOC: OperationDoc = {
  summary: 'Whether a token is active, and what it is (RFC 7662; introspection clients only)',
  // The gateway never forwards a client's Authorization header, so HTTP Basic reaches this
  // endpoint only on a direct call to the auth service; through the public URL, the body.
  description: 'For the callers in `introspection.clients`: send `client_id` and `client_secret` with the token (through the gateway the Authorization header, and so HTTP Basic, does not reach the auth service).',
  answers: {
    200: {
      description: '`{active: false}` for an unknown, revoked or expired token; otherwise what the token is.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['active'],
        properties: {
          active: { type: 'boolean' },
          token_type: { type: 'string', enum: ['access_token', 'refresh_token', 'api_token'] },
          sub: { type: 'string' },
          username: { type: 'string' },
          scope: { type: 'string' },
          exp: { type: 'integer' },
          iat: { type: 'integer' },
          client_id: { type: 'string' },
          sid: { type: 'string' },
          did: { type: 'string' },
          jti: { type: 'string' },
          iss: { type: 'string' },
          aud: { type: 'string' },
          token_id: { type: 'string' },
        },
      },
    },
  },
};

/**
 * POST /auth/introspect (RFC 7662; form or JSON) for the callers configured in
 * `introspection.clients` only; others get 401 invalid_client with `WWW-Authenticate: Basic`.
 * 200 `{active: false}` for unknown, revoked or expired tokens; for an active one
 * `{active: true, token_type, sub, username, scope, exp, iat, client_id, sid?, ...}` where
 * token_type is `access_token`, `refresh_token` or `api_token`.
 */
export function registerIntrospect(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post('/auth/introspect', { config: { lane: PUBLIC_LANE, oauthParams: introspectParams, openapi: INTROSPECT_DOC } }, async (request, reply) => {
    const params = readParams(request.body ?? {}, introspectParams);
    const client = authenticateClient(deps, request, params);
    const token = requireParam(params, 'token');
    const result = await introspectToken(deps, token);
    deps.logger.info(
      { event: 'token.introspected', client, active: result.active, tokenType: result.active ? result.token_type : undefined, ip: clientIp(request) },
      'token introspection',
    );
    return reply.code(200).header('pragma', 'no-cache').type(OAUTH_JSON).send(JSON.stringify(result));
  });
}
