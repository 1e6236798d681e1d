import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { VERSION } from '../util/version.js';
import { cookieNames } from '../config/cookie-names.js';
import type { Deps } from '../context.js';
import { ERROR_REGISTRY, PROBLEM_CONTENT_TYPE } from '../errors/index.js';
import { csrfProtects } from '../credentials/csrf.js';
import { laneOf, PUBLIC_LANE, type CredentialKind, type Lane } from './lanes.js';
import { OAUTH_CONTENT_TYPES, paramsSchema } from './oauth.js';

/**
 * The OpenAPI 3.1 document of the auth endpoints, `GET /auth/openapi.json` (through the
 * gateway, no credential). @fastify/swagger builds it from the routes as registered: each
 * route's request schema is the very object Fastify validates with (the OAuth endpoints, which
 * read forms with `readParams`, are described from their `config.oauthParams`), and each
 * operation's security requirement comes from the route's lane declaration (lanes.ts), the same
 * data the lane check enforces. `openapi.test.ts` compares the document with the registered
 * routes, so the two cannot drift.
 */

export const OPENAPI_PATH = '/auth/openapi.json';

/** The document changes only with a release or the public URL: caches may keep it a few minutes. */
export const OPENAPI_CACHE_CONTROL = 'public, max-age=300';

/** Security scheme of each credential kind (the passport's `auth` claim). */
const SCHEME_OF: Readonly<Record<CredentialKind, string>> = {
  session: 'sessionCookie',
  access_token: 'accessToken',
  api_token: 'apiToken',
  client: 'clientToken',
};
const CSRF_SCHEME = 'csrfToken';

type SecurityRequirement = Record<string, string[]>;

/**
 * What a route's own file says about it for the OpenAPI document only (route option
 * `config.openapi`): never given to Fastify, whose serializer would drop any field a response
 * schema forgot. `openapi.test.ts` checks every live answer against these bodies.
 */
export interface OperationDoc {
  /** One line for the list of operations. */
  readonly summary: string;
  /** More, where the summary is not enough. */
  readonly description?: string;
  /**
   * The success answers by status: a JSON Schema of the JSON body, or no `body` for none. With
   * `contentType` (JSON lines, `application/x-ndjson`), `body` is the schema of each line.
   */
  readonly answers: Readonly<Record<number, { readonly description: string; readonly body?: Readonly<Record<string, unknown>>; readonly contentType?: string }>>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's summary and success answers in the OpenAPI document (auth/openapi.ts). */
    openapi?: OperationDoc;
  }
}

/** A timestamp as the endpoints write it (`iso()`). */
export const DATE_TIME = { type: 'string', format: 'date-time' } as const;

/**
 * The alternatives a route's lane accepts, one requirement each: a browser session (with the
 * CSRF header on the methods the gateway checks it for), an access token, an API token, each
 * listing the scopes its rule names. A kind without a scheme here stops the document from building.
 */
export function securityOf(lane: Lane, method: string): SecurityRequirement[] {
  if ('public' in lane) return [];
  return Object.entries(lane.accepts).map(([kind, rule]) => {
    const scheme = (SCHEME_OF as Record<string, string | undefined>)[kind];
    if (scheme === undefined) throw new Error(`The OpenAPI document has no security scheme for the credential kind "${kind}" (auth/openapi.ts).`);
    const requirement: SecurityRequirement = { [scheme]: [...(rule?.scopes ?? [])] };
    if (kind === 'session' && csrfProtects(method)) requirement[CSRF_SCHEME] = [];
    return requirement;
  });
}

/** Whether the gateway forwards the route (auth-routes.ts forwards all of /auth/*; the service's own /healthz and /readyz are internal). */
function isPublicPath(url: string): boolean {
  return url.startsWith('/auth/');
}

function securitySchemes(deps: Deps): Record<string, unknown> {
  return {
    [SCHEME_OF.session]: {
      type: 'apiKey',
      in: 'cookie',
      name: cookieNames(deps.config).session,
      description: 'A browser session: the cookie that POST /auth/signin sets. Writes need the CSRF token too.',
    },
    [CSRF_SCHEME]: {
      type: 'apiKey',
      in: 'header',
      name: 'X-CSRF-Token',
      description: 'The csrf_token of the sign-in answer (also in the readable CSRF cookie): required with the session cookie on POST, PUT, PATCH and DELETE.',
    },
    [SCHEME_OF.access_token]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token (RFC 9068 at+jwt) from POST /auth/token. The account endpoints need one granted the "account" scope.',
    },
    [SCHEME_OF.api_token]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'gh_…',
      description: 'A personal API token (gh_…) from POST /auth/api-tokens. The account endpoints need one created with the "account" scope.',
    },
    [SCHEME_OF.client]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'A service client\'s own access token (RFC 9068 at+jwt with gty "client_credentials") from POST /auth/token with grant_type=client_credentials. No endpoint here accepts one yet: it is for the routes that name the client (routes[].clients).',
    },
  };
}

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is stable (docs/errors.md). Some codes add members (e.g. `scope`, `challenge_url`).',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(ERROR_REGISTRY) },
  },
};

const OAUTH_ERROR_SCHEMA = {
  type: 'object',
  description: 'RFC 6749 §5.2 error.',
  required: ['error'],
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
};

const PROBLEM_RESPONSE = { $ref: '#/components/responses/Problem' };
const OAUTH_ERROR_RESPONSE = { $ref: '#/components/responses/OAuthError' };

type Operation = { requestBody?: { content?: Record<string, unknown> }; responses?: Record<string, unknown> };

/** Every operation answers problem+json errors; the OAuth endpoints (the ones that take forms) answer client errors in the OAuth shape. */
function addErrorResponses(document: { paths?: Record<string, Record<string, Operation>> }): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const op of Object.values(item)) {
      const responses = (op.responses ??= {});
      if (op.requestBody?.content?.['application/x-www-form-urlencoded'] !== undefined) responses['4XX'] = OAUTH_ERROR_RESPONSE;
      responses.default = PROBLEM_RESPONSE;
    }
  }
}

/**
 * Registers @fastify/swagger and the document's route. Call before any other route, after
 * `installLanes`: only routes registered afterwards are seen. The document is built once, when
 * the service is ready (a route it cannot describe stops the start), and served as the same bytes.
 */
export async function installOpenApi(app: FastifyInstance, deps: Deps): Promise<void> {
  const publicUrl = deps.config.publicUrl;
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse auth API',
        version: VERSION,
        description: 'The auth endpoints of Gatehouse, reached through the gateway. Errors are RFC 9457 problem+json (docs/errors.md); token, revoke and introspect answer client errors in the RFC 6749 shape.',
      },
      // Without a public URL (a lone `gatehouse auth`), OpenAPI's default server "/" stands.
      ...(publicUrl ? { servers: [{ url: publicUrl }] } : {}),
      components: {
        securitySchemes: securitySchemes(deps) as never,
        schemas: { Problem: PROBLEM_SCHEMA as never, OAuthError: OAUTH_ERROR_SCHEMA as never },
        responses: {
          Problem: { description: 'An error (RFC 9457).', content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } } },
          OAuthError: {
            description: 'A client error in the OAuth shape (RFC 6749 §5.2), also 503 temporarily_unavailable; 413 and 415 stay problem+json.',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/OAuthError' } } },
          },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      if (!isPublicPath(url)) return { schema: { ...schema, hide: true }, url };
      const r = route as RouteOptions;
      const lane = laneOf(r) ?? PUBLIC_LANE;
      const method = Array.isArray(r.method) ? String(r.method[0]) : String(r.method);
      const out: FastifySchema = { ...schema };
      if (!('public' in lane)) out.security = securityOf(lane, method);
      const oauth = r.config?.oauthParams;
      const described = r.config?.openapi;
      if (described !== undefined) {
        out.summary = described.summary;
        if (described.description !== undefined) out.description = described.description;
        out.response = Object.fromEntries(
          Object.entries(described.answers).map(([status, a]) => [
            status,
            a.contentType !== undefined
              ? { description: a.description, content: { [a.contentType]: { schema: a.body ?? {} } } }
              : { 'x-response-description': a.description, ...(a.body ?? { type: 'null' }) },
          ]),
        );
      }
      if (oauth !== undefined) {
        out.body = paramsSchema(oauth);
        out.consumes = [...OAUTH_CONTENT_TYPES];
      }
      return { schema: out, url };
    },
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      addErrorResponses(document as Parameters<typeof addErrorResponses>[0]);
      return document;
    },
  });

  let body = '';
  app.addHook('onReady', async () => {
    body = JSON.stringify(app.swagger());
  });
  app.get(
    OPENAPI_PATH,
    {
      config: { lane: PUBLIC_LANE, openapi: { summary: 'This OpenAPI document', answers: { 200: { description: 'OpenAPI 3.1 (JSON).', body: { type: 'object' } } } } },
      // After the service's own onSend (no-store): a static document may be cached.
      onSend: async (_request, reply, payload) => {
        reply.header('cache-control', OPENAPI_CACHE_CONTROL);
        return payload;
      },
    },
    async (_request, reply) => reply.type('application/json; charset=utf-8').send(body),
  );
}
