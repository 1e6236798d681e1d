import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hashSecret, randomId } from '../../crypto/secrets.js';
import { generateApiToken } from '../../credentials/token-formats.js';
import { GatehouseError } from '../../errors/index.js';
import type { ApiTokenRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { ACCOUNT_SCOPE, narrowScopes, parseScope, tokenScopes } from '../../credentials/scope.js';
import { MINT_API_TOKEN_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

/** Shortest and longest `expires_in` of an API token (seconds): one minute to ten years. */
export const API_TOKEN_MIN_TTL_SEC = 60;
export const API_TOKEN_MAX_TTL_SEC = 10 * 365 * 24 * 3600;

export const apiTokensCreateSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['name'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      scopes: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } },
      expires_in: { type: 'integer', minimum: API_TOKEN_MIN_TTL_SEC, maximum: API_TOKEN_MAX_TTL_SEC },
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type ApiTokenCreateBody = FromSchema<(typeof apiTokensCreateSchema)['body']>;

function oneScope(s: string): string {
  const parts = parseScope(s);
  if (parts.length !== 1) throw new GatehouseError('invalid_scope', { detail: 'Each entry of "scopes" is one scope, without spaces.' });
  return parts[0]!;
}

const API_TOKENS_CREATE_DOC: OperationDoc = {
  summary: 'Create a personal API token (shown this once)',
  answers: {
    201: {
      description: 'The token; only its hash is kept.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'token', 'scopes', 'expires_at'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          token: { type: 'string' },
          scopes: { type: 'array', items: { type: 'string' } },
          expires_at: { type: ['string', 'null'], format: 'date-time' },
        },
      },
    },
  },
};

/**
 * POST /auth/api-tokens -> 201 {id, name, token, scopes, expires_at}: a personal API token,
 * shown this once (only its hash is stored). `scopes` must come from `tokens.defaultScopes`
 * (default: all of them), plus `account` when a browser session asks for it by name; a caller
 * with an access token (which needs the account scope to get here) cannot grant more than its
 * own scopes, nor `account`. An API token cannot create tokens at all (403 from its lane): a
 * leaked script token must not mint more.
 */
export function registerApiTokensCreate(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: ApiTokenCreateBody }>('/auth/api-tokens', { schema: apiTokensCreateSchema, config: { lane: MINT_API_TOKEN_LANE, openapi: API_TOKENS_CREATE_DOC } }, async (request, reply) => {
    // The lane (MINT_API_TOKEN_LANE) has let in only a browser session or an access token with the account scope.
    const passport = passportOf(request);
    const body = request.body;
    const name = body.name.trim();
    if (name === '' || /\p{C}/u.test(name)) throw new GatehouseError('invalid_body', { detail: 'The field "name" must be visible text without control characters.' });
    const requested = body.scopes === undefined ? undefined : [...new Set(body.scopes.map(oneScope))];
    const fromSession = passport.auth === 'session';
    if (!fromSession && requested?.includes(ACCOUNT_SCOPE)) {
      throw new GatehouseError('invalid_scope', { detail: `Only a browser session can give an API token the "${ACCOUNT_SCOPE}" scope.` });
    }
    let scopes = tokenScopes(deps.config, requested, fromSession);
    if (!fromSession) {
      // A token caller cannot give more than its own scopes.
      const own = passport.scope === undefined ? [] : passport.scope.split(' ');
      scopes = narrowScopes(requested, scopes.filter((s) => own.includes(s)));
    }

    const user = await accountOf(deps, passport);
    const now = deps.clock.now();
    const token = generateApiToken();
    const record: ApiTokenRecord = {
      id: randomId(),
      userId: user.id,
      name,
      tokenHash: hashSecret(token),
      scopes,
      createdAt: now,
      expiresAt: body.expires_in === undefined ? null : now + body.expires_in * 1000,
      lastUsedAt: null,
    };
    await deps.stores.apiTokens.create(record);
    await recordAudit(deps, request, {
      type: 'api_token.created',
      userId: user.id,
      deviceId: passport.did ?? null,
      detail: { token_id: record.id, name: record.name, scopes: scopes.join(' '), ...(record.expiresAt === null ? {} : { expires_at: iso(record.expiresAt) }) },
    });
    return reply.code(201).send({
      id: record.id,
      name: record.name,
      token,
      scopes: record.scopes,
      expires_at: isoOrNull(record.expiresAt),
    });
  });
}
