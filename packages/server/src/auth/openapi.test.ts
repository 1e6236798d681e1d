import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import { startAll, type RunningGatehouse } from '../start/start-all.js';
import { createLogger } from '../util/logger.js';
import { apiTokensCreateSchema } from './endpoints/api-tokens-create.js';
import { introspectParams } from './endpoints/introspect.js';
import { revokeParams } from './endpoints/revoke.js';
import { sessionsDeleteSchema } from './endpoints/sessions-delete.js';
import { signinSchema } from './endpoints/signin.js';
import { signupSchema } from './endpoints/signup.js';
import { tokenParams } from './endpoints/token.js';
import { ACCOUNT_LANE, declaredRoutes, type DeclaredRoute } from './lanes.js';
import { paramsSchema } from './oauth.js';
import { OPENAPI_CACHE_CONTROL, OPENAPI_PATH, securityOf } from './openapi.js';
import { createAuthHarness, type AuthHarness } from './test-helpers.js';

/*
 * Issue 12: the OpenAPI 3.1 document of /auth is generated from the routes as registered, and
 * this test holds it to them: a valid 3.1 document, exactly the registered routes (a route added
 * without appearing, or an operation that is not a route, fails), each with the very request
 * schema Fastify validates with and the security its lane enforces; served through the gateway.
 */

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean; schema: unknown }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  security?: Array<Record<string, string[]>>;
  responses: Record<string, unknown>;
}
interface Document {
  openapi: string;
  servers?: Array<{ url: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
}

const PUBLIC_URL = 'https://gatehouse.example';

/** `/auth/sessions/:id` as OpenAPI writes it. */
function openapiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** The auth service's routes the gateway forwards (its own /healthz and /readyz are internal). */
function publicRoutes(h: AuthHarness): DeclaredRoute[] {
  return declaredRoutes(h.app).filter((r) => r.method !== 'HEAD' && r.url.startsWith('/auth/'));
}

function operations(doc: Document): Array<{ key: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
}

describe('OpenAPI document of /auth', () => {
  let h: AuthHarness;
  let doc: Document;
  let text: string;

  beforeAll(async () => {
    h = await createAuthHarness({ publicUrl: PUBLIC_URL });
    const res = await h.app.inject({ method: 'GET', url: OPENAPI_PATH });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe(OPENAPI_CACHE_CONTROL);
    text = res.body;
    doc = JSON.parse(text) as Document;
  }, 30_000);

  afterAll(async () => {
    await h?.close();
  });

  it('is a valid OpenAPI 3.1 document whose server is the public URL', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 1)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: PUBLIC_URL }]);
    // Cookie names follow the public URL's scheme (config/cookie-names.ts).
    expect(doc.components.securitySchemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: '__Host-gatehouse_session' });
  });

  it('lists exactly the registered /auth routes, no more, no fewer', () => {
    const registered = publicRoutes(h).map((r) => `${r.method} ${openapiPath(r.url)}`);
    expect(registered.length).toBeGreaterThanOrEqual(17);
    expect(operations(doc).map((o) => o.key).sort()).toEqual([...registered].sort());
  });

  it('describes each request with the schema the route validates with', () => {
    const oauthSpecs: Record<string, unknown> = { '/auth/token': tokenParams, '/auth/revoke': revokeParams, '/auth/introspect': introspectParams };
    for (const r of publicRoutes(h)) {
      const op = doc.paths[openapiPath(r.url)]![r.method.toLowerCase()]!;
      const where = `${r.method} ${r.url}`;
      const schema = r.options.schema;
      const oauth = r.options.config?.oauthParams;

      // Body: Fastify's own schema, or (OAuth endpoints) what readParams reads, as a form or JSON.
      if (schema?.body !== undefined) {
        expect(oauth, where).toBeUndefined();
        expect(op.requestBody, where).toEqual({ required: true, content: { 'application/json': { schema: schema.body } } });
      } else if (oauth !== undefined) {
        // The very spec object the handler passes to readParams.
        expect(oauth, where).toBe(oauthSpecs[r.url]);
        const form = { schema: paramsSchema(oauth) };
        expect(op.requestBody, where).toEqual({ required: true, content: { 'application/x-www-form-urlencoded': form, 'application/json': form } });
      } else {
        expect(op.requestBody, `${where} takes no body`).toBeUndefined();
      }

      // Path parameters: each property of the route's params schema, with its schema.
      const params = schema?.params as { properties: Record<string, unknown>; required?: string[] } | undefined;
      const names = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
      if (names.length > 0) expect(params, `${where} validates its path parameters`).toBeDefined();
      const expected = params === undefined ? [] : Object.entries(params.properties).map(([name, s]) => ({ in: 'path', name, required: true, schema: s }));
      expect(op.parameters ?? [], where).toEqual(expected);
      expect((op.parameters ?? []).map((p) => p.name).sort(), where).toEqual(names.sort());
    }
    // The schemas the endpoint files export are the objects the routes registered (no copy).
    const byKey = new Map(publicRoutes(h).map((r) => [`${r.method} ${r.url}`, r.options.schema]));
    expect(byKey.get('POST /auth/signup')).toBe(signupSchema);
    expect(byKey.get('POST /auth/signin')).toBe(signinSchema);
    expect(byKey.get('POST /auth/api-tokens')).toBe(apiTokensCreateSchema);
    expect(byKey.get('DELETE /auth/sessions/:id')).toBe(sessionsDeleteSchema);
  });

  it("gives each operation the security its lane enforces, with the account scope where the lane needs it", () => {
    for (const r of publicRoutes(h)) {
      const op = doc.paths[openapiPath(r.url)]![r.method.toLowerCase()]!;
      if ('public' in r.lane) {
        // Public: no user credential (introspection authenticates its client instead).
        expect(op.security ?? [], `${r.method} ${r.url}`).toEqual(r.url === '/auth/introspect' ? [{ introspectionClient: [] }] : []);
      } else {
        expect(op.security, `${r.method} ${r.url}`).toEqual(securityOf(r.lane, r.method));
      }
    }
    // Written out for three lanes, so a change in how lanes become security fails here too.
    const sec = (path: string, method: string) => doc.paths[path]![method]!.security;
    expect(sec('/auth/sessions', 'get')).toEqual([{ sessionCookie: [] }, { accessToken: ['account'] }, { apiToken: ['account'] }]);
    expect(sec('/auth/sessions/{id}', 'delete')).toEqual([{ sessionCookie: [], csrfToken: [] }, { accessToken: ['account'] }, { apiToken: ['account'] }]);
    expect(sec('/auth/signout', 'post')).toEqual([{ sessionCookie: [], csrfToken: [] }, { accessToken: [] }]);
    expect(sec('/auth/api-tokens', 'post')).toEqual([{ sessionCookie: [], csrfToken: [] }, { accessToken: ['account'] }]);
    expect(sec('/auth/me', 'get')).toEqual([{ sessionCookie: [] }, { accessToken: [] }, { apiToken: [] }]);
    expect(doc.paths['/auth/signin']!.post!.security).toBeUndefined();
    expect(doc.components.securitySchemes.csrfToken).toEqual(expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-CSRF-Token' }));
    expect(doc.components.securitySchemes.accessToken).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.components.securitySchemes.apiToken).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
  });

  it('a credential kind without a security scheme stops the document from building', () => {
    expect(() => securityOf({ accepts: { ...(ACCOUNT_LANE as { accepts: object }).accepts, client: { scopes: [] } } } as never, 'GET')).toThrow(/no security scheme for the credential kind "client"/);
  });

  it('describes errors once, as RFC 9457 problem+json (the OAuth endpoints: RFC 6749 errors below 500)', () => {
    const components = (doc as unknown as { components: { responses: Record<string, { content: Record<string, unknown> }> } }).components;
    expect(Object.keys(components.responses.Problem!.content)).toEqual(['application/problem+json']);
    for (const { key, op } of operations(doc)) {
      expect(op.responses.default, key).toEqual({ $ref: '#/components/responses/Problem' });
      const oauth = key === 'POST /auth/token' || key === 'POST /auth/revoke' || key === 'POST /auth/introspect';
      expect(op.responses['4XX'], key).toEqual(oauth ? { $ref: '#/components/responses/OAuthError' } : undefined);
    }
  });

  it('leaves out the service-internal /healthz and /readyz', () => {
    expect(declaredRoutes(h.app).some((r) => r.url === '/healthz')).toBe(true);
    expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/auth/'))).toEqual([]);
  });
});

describe('GET /auth/openapi.json through the gateway', () => {
  let gh: RunningGatehouse;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'));
    const config = structuredClone(DEFAULTS);
    config.port = 0;
    config.dataDir = dataDir;
    config.logLevel = 'silent';
    gh = await startAll({ config, logger: createLogger('silent') });
  }, 30_000);

  afterAll(async () => {
    await gh?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers without a credential, cacheable, with the gateway URL as its server', async () => {
    const res = await fetch(`${gh.url}${OPENAPI_PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe(OPENAPI_CACHE_CONTROL);
    const doc = (await res.json()) as Document;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: gh.url }]);
    expect(doc.paths['/auth/signin']?.post).toBeDefined();
    // HEAD too, like any GET.
    const head = await fetch(`${gh.url}${OPENAPI_PATH}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});
