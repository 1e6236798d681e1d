import { SoftAuthenticator } from './webauthn/soft-authenticator.test-helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { startAll, type RunningGatehouse } from '../start/start-all.js';
import { NO_PASSWORD } from '../stores/types.js';
import { createLogger } from '../util/logger.js';
import { apiTokensCreateSchema } from './endpoints/api-tokens-create.js';
import { deviceAuthorizeParams } from './endpoints/device-authorize.js';
import { introspectParams } from './endpoints/introspect.js';
import { revokeParams } from './endpoints/revoke.js';
import { sessionsDeleteSchema } from './endpoints/sessions-delete.js';
import { signinSchema } from './endpoints/signin.js';
import { signupSchema } from './endpoints/signup.js';
import { tokenParams } from './endpoints/token.js';
import { ACCOUNT_LANE, declaredRoutes, type DeclaredRoute } from './lanes.js';
import { paramsSchema } from './oauth.js';
import { OPENAPI_CACHE_CONTROL, OPENAPI_PATH, securityOf } from './openapi.js';
import { totpCodeAt } from './mfa/totp.js';
import { createDeviceSession } from './sessions.js';
import { createAuthHarness, relaxAbuseLimits, type AuthHarness } from './test-helpers.js';
import { startTestSmtpServer, tokenIn, type TestSmtpServer } from './email/smtp-server.test-helpers.js';
import { freePort, startOidcProvider, type OidcProviderHandle } from '../../test/federation/oidc-provider.test-helpers.js';

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
const NDJSON = 'application/x-ndjson';
const INTROSPECTION_SECRET = 'docs introspection secret';

/**
 * Checks live answers against the document: the status must be one the operation documents
 * (a success) and the body must match its schema, with Fastify's own Ajv, strict (no coercion,
 * no removal). Returns null when the answer matches, else why not.
 */
async function answerChecker(doc: Document): Promise<{ check(operation: string, status: number, text: string): Promise<string | null>; close(): Promise<void> }> {
  const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true, allowUnionTypes: true } } });
  const schemas = new Map<string, unknown>();
  for (const { key, op } of operations(doc)) {
    for (const [status, answer] of Object.entries(op.responses)) {
      const content = (answer as { content?: Record<string, { schema: unknown }> }).content;
      // JSON lines (the audit export): the schema of each line.
      const schema = content?.['application/json']?.schema ?? content?.[NDJSON]?.schema;
      if (schema === undefined) continue;
      const id = `/${schemas.size}`;
      schemas.set(`${key} ${status}`, id);
      app.post(id, { schema: { body: schema as object } }, async () => 'ok');
    }
  }
  await app.ready();
  const check = async (operation: string, status: number, text: string): Promise<string | null> => {
    const op = operations(doc).find((o) => o.key === operation)?.op;
    if (op === undefined) return 'not in the document';
    const answer = op.responses[String(status)] as { content?: Record<string, unknown> } | undefined;
    if (answer === undefined) return `status ${status} is not documented`;
    if (answer.content === undefined) return text === '' ? null : 'a body where the document says none';
    const id = schemas.get(`${operation} ${status}`) as string;
    const bodies = answer.content[NDJSON] !== undefined ? text.split('\n').filter((line) => line !== '') : [text];
    for (const body of bodies) {
      const res = await app.inject({ method: 'POST', url: id, headers: { 'content-type': 'application/json' }, payload: body });
      if (res.statusCode !== 200) return res.body;
    }
    return null;
  };
  return { check, close: () => app.close() };
}

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
    // Each route's own file describes it (summary and success answers, config.openapi).
    for (const r of publicRoutes(h)) expect(r.options.config?.openapi?.summary, `${r.method} ${r.url}`).toMatch(/\S/);
    for (const { key, op } of operations(doc)) expect((op as { summary?: string }).summary, key).toMatch(/\S/);
  });

  it('describes each request with the schema the route validates with', () => {
    const oauthSpecs: Record<string, unknown> = { '/auth/token': tokenParams, '/auth/revoke': revokeParams, '/auth/introspect': introspectParams, '/auth/device/authorize': deviceAuthorizeParams };
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
      // Query parameters: each property of the route's querystring schema (the federation start's `next`).
      const query = schema?.querystring as { properties: Record<string, unknown>; required?: string[] } | undefined;
      const expectedQuery = query === undefined ? [] : Object.entries(query.properties).map(([name, s]) => ({ in: 'query', name, required: query.required?.includes(name) ?? false, schema: s }));
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path');
      expect(inPath, where).toEqual(expected);
      expect((op.parameters ?? []).filter((p) => p.in !== 'path'), where).toEqual(expectedQuery);
      expect(inPath.map((p) => p.name).sort(), where).toEqual(names.sort());
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
        // Public: no credential (introspection authenticates its client by the body).
        expect(op.security, `${r.method} ${r.url}`).toBeUndefined();
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
    expect(() => securityOf({ accepts: { ...(ACCOUNT_LANE as { accepts: object }).accepts, federated: { scopes: [] } } } as never, 'GET')).toThrow(/no security scheme for the credential kind "federated"/);
  });

  it('a service client token (kind "client", issue 14 §3) has its own bearer scheme, named by a lane that accepts it', () => {
    expect(securityOf({ accepts: { client: { scopes: ['notes:read'] } } }, 'GET')).toEqual([{ clientToken: ['notes:read'] }]);
  });

  it('describes errors once, as RFC 9457 problem+json (the OAuth endpoints: RFC 6749 errors below 500)', () => {
    const components = (doc as unknown as { components: { responses: Record<string, { content: Record<string, unknown> }> } }).components;
    expect(Object.keys(components.responses.Problem!.content)).toEqual(['application/problem+json']);
    for (const { key, op } of operations(doc)) {
      expect(op.responses.default, key).toEqual({ $ref: '#/components/responses/Problem' });
      const oauth = ['POST /auth/token', 'POST /auth/revoke', 'POST /auth/introspect', 'POST /auth/device/authorize'].includes(key);
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
  let idp: OidcProviderHandle;
  let smtp: TestSmtpServer;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-openapi-'));
    // A real SMTP server: the email endpoints mail their links (issue 18).
    smtp = await startTestSmtpServer();
    const config = structuredClone(DEFAULTS);
    // A known port: the identity provider must know the redirect URI before Gatehouse starts.
    config.port = await freePort();
    idp = await startOidcProvider({ redirectUri: `http://127.0.0.1:${config.port}/auth/federation/docs-idp/callback` });
    config.federation.providers = [
      { id: 'docs-idp', type: 'oidc', name: 'Docs IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, scopes: ['openid', 'email', 'profile'], allowSignup: true, linkByVerifiedEmail: false },
    ];
    config.dataDir = dataDir;
    config.logLevel = 'silent';
    config.email.smtpUrl = smtp.url;
    // The walk below signs up and in from one address; the abuse limits are not under test here.
    relaxAbuseLimits(config);
    config.introspection.clients = [{ id: 'docs', secretSha256: hashSecret(INTROSPECTION_SECRET) }];
    gh = await startAll({ config, logger: createLogger('silent') });
  }, 30_000);

  afterAll(async () => {
    await gh?.close();
    await idp?.close();
    await smtp?.close();
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

  it('every operation, walked through the gateway, answers a documented status with a body its documented schema accepts', async () => {
    const doc = (await (await fetch(`${gh.url}${OPENAPI_PATH}`)).json()) as Document;
    const checker = await answerChecker(doc);
    const walked = new Set<string>();
    /** One request; its answer must be documented for `operation` (method and OpenAPI path). */
    const call = async (operation: string, path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown; form?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { ...init.headers };
      let body: string | undefined;
      if (init.json !== undefined) [headers['content-type'], body] = ['application/json', JSON.stringify(init.json)];
      if (init.form !== undefined) [headers['content-type'], body] = ['application/x-www-form-urlencoded', new URLSearchParams(init.form).toString()];
      const res = await fetch(gh.url + path, { method: init.method ?? operation.split(' ')[0], headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      walked.add(operation);
      expect(await checker.check(operation, res.status, text), `${operation} answered ${res.status} ${text.slice(0, 300)}`).toBe(null);
      const lines = (res.headers.get('content-type') ?? '').startsWith(NDJSON);
      return { res, json: text === '' || lines ? undefined : (JSON.parse(text) as Record<string, unknown> & Array<Record<string, unknown>>) };
    };

    const username = `docs-${randomId().slice(0, 8).toLowerCase()}`;
    const password = 'documented passphrase 1';
    await call('GET /auth/openapi.json', OPENAPI_PATH);
    await call('GET /auth/challenge', '/auth/challenge');
    await call('POST /auth/signup', '/auth/signup', { json: { username, password } });
    const signin = async (pw: string) => {
      const { res, json } = await call('POST /auth/signin', '/auth/signin', { json: { username, password: pw }, headers: { origin: gh.url } });
      const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
      return { cookie, origin: gh.url, 'x-csrf-token': json!.csrf_token as string };
    };
    const browser = await signin(password);
    await call('GET /auth/me', '/auth/me', { headers: browser });
    const grant = await call('POST /auth/token', '/auth/token', { form: { grant_type: 'password', username, password, device_id: 'docs-tv' } });
    const refreshed = await call('POST /auth/token', '/auth/token', { form: { grant_type: 'refresh_token', refresh_token: grant.json!.refresh_token as string } });
    const client = { client_id: 'docs', client_secret: INTROSPECTION_SECRET };
    const active = await call('POST /auth/introspect', '/auth/introspect', { form: { ...client, token: refreshed.json!.access_token as string } });
    expect(active.json!.active).toBe(true);
    // Signing the TV out ends its refresh token too.
    const sessions = await call('GET /auth/sessions', '/auth/sessions', { headers: browser });
    const tv = sessions.json!.find((x) => x.device_id === 'docs-tv');
    await call('DELETE /auth/sessions/{id}', `/auth/sessions/${String(tv?.id)}`, { headers: browser });
    const inactive = await call('POST /auth/introspect', '/auth/introspect', { form: { ...client, token: refreshed.json!.refresh_token as string } });
    expect(inactive.json).toEqual({ active: false });
    await call('POST /auth/revoke', '/auth/revoke', { form: { token: refreshed.json!.refresh_token as string } });
    const created = await call('POST /auth/api-tokens', '/auth/api-tokens', { headers: browser, json: { name: 'docs', expires_in: 3600 } });
    await call('POST /auth/api-tokens', '/auth/api-tokens', { headers: browser, json: { name: 'docs forever' } });
    await call('GET /auth/api-tokens', '/auth/api-tokens', { headers: browser });
    await call('DELETE /auth/api-tokens/{id}', `/auth/api-tokens/${String(created.json!.id)}`, { headers: browser });
    await call('GET /auth/activity', '/auth/activity', { headers: browser });
    // Email (issue 18): set an address, verify it with the mailed link (no credential).
    const address = `${username}@example.com`;
    await call('GET /auth/email', '/auth/email', { headers: browser });
    await call('PUT /auth/email', '/auth/email', { headers: browser, json: { email: address, password } });
    const verifyMail = await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Confirm your email address');
    await call('POST /auth/email/verify', '/auth/email/verify', { headers: { origin: gh.url }, json: { token: tokenIn(verifyMail.text) } });
    // Second factors (issue 17): enrol, confirm with a code computed here, regenerate recovery
    // codes, a sign-in finished with one of them, remove (the password alone signs in again below).
    const enrol = await call('POST /auth/mfa/totp', '/auth/mfa/totp', { headers: browser, json: { password } });
    await call('POST /auth/mfa/totp/confirm', '/auth/mfa/totp/confirm', { headers: browser, json: { code: totpCodeAt(enrol.json!.secret as string, Date.now()) } });
    await call('GET /auth/mfa', '/auth/mfa', { headers: browser });
    const recovery = await call('POST /auth/mfa/recovery-codes', '/auth/mfa/recovery-codes', { headers: browser, json: { password } });
    const firstStep = await fetch(`${gh.url}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gh.url }, body: JSON.stringify({ username, password }) });
    expect(firstStep.status).toBe(401);
    const ticket = ((await firstStep.json()) as { mfa_ticket: string }).mfa_ticket;
    await call('POST /auth/signin/mfa', '/auth/signin/mfa', { headers: { origin: gh.url }, json: { ticket, recovery_code: (recovery.json!.recovery_codes as unknown as string[])[0] } });
    await call('DELETE /auth/mfa/totp', '/auth/mfa/totp', { headers: browser, json: { password } });
    // Sign-in methods (issue 15): a linked provider account is listed and unlinked (the password stays).
    const me = await gh.deps.stores.users.findByCanonical(username);
    await gh.deps.stores.identities.link({ provider: 'docs-idp', subject: 'docs|1', userId: me!.id, email: 'docs@example.com', emailVerified: true, createdAt: 0, lastUsedAt: 0 });
    const methods = await call('GET /auth/identities', '/auth/identities', { headers: browser });
    expect(methods.json!.has_password).toBe(true);
    await call('DELETE /auth/identities/{provider}/{subject}', `/auth/identities/docs-idp/${encodeURIComponent('docs|1')}`, { headers: browser });
    // Passkeys (issue 17): each operation once (the ceremonies themselves: passkeys.test.ts, test/browser/passkeys.test.ts).
    // The RP id of a loopback gateway is localhost, so the page is at http://localhost:<port>.
    const atLocalhost = { ...browser, origin: gh.url.replace('127.0.0.1', 'localhost') };
    const creation = await call('POST /auth/passkeys/options', '/auth/passkeys/options', { headers: atLocalhost, json: { password } });
    expect(creation.json).toMatchObject({ rp: { id: 'localhost' } });
    const authenticator = new SoftAuthenticator('localhost', atLocalhost.origin);
    const made = await call('POST /auth/passkeys', '/auth/passkeys', { headers: atLocalhost, json: { name: 'docs', response: authenticator.register(creation.json as never) } });
    const passkeyPath = `/auth/passkeys/${encodeURIComponent(String(made.json!.id))}`;
    await call('GET /auth/passkeys', '/auth/passkeys', { headers: browser });
    await call('PATCH /auth/passkeys/{id}', passkeyPath, { headers: browser, json: { name: 'docs laptop' } });
    const request = await call('POST /auth/signin/passkey/options', '/auth/signin/passkey/options', { headers: { origin: atLocalhost.origin } });
    await call('POST /auth/signin/passkey', '/auth/signin/passkey', { headers: { origin: atLocalhost.origin }, json: { response: authenticator.assert(request.json as never) } });
    // The passkey as a re-authentication proof, then as the second factor after the password.
    const reauthOptions = await call('POST /auth/reauth/passkey-options', '/auth/reauth/passkey-options', { headers: atLocalhost });
    await call('POST /auth/reauth', '/auth/reauth', { headers: atLocalhost, json: { passkey: authenticator.assert(reauthOptions.json as never) } });
    const passwordStep = await fetch(`${gh.url}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gh.url }, body: JSON.stringify({ username, password }) });
    const passwordStepBody = (await passwordStep.json()) as { mfa_ticket: string; factors: string[] };
    expect(passwordStepBody.factors).toEqual(['passkey']);
    const mfaOptions = await call('POST /auth/signin/mfa/passkey-options', '/auth/signin/mfa/passkey-options', { headers: { origin: atLocalhost.origin }, json: { ticket: passwordStepBody.mfa_ticket } });
    await call('POST /auth/signin/mfa', '/auth/signin/mfa', { headers: { origin: atLocalhost.origin }, json: { ticket: passwordStepBody.mfa_ticket, passkey: authenticator.assert(mfaOptions.json as never) } });
    await call('DELETE /auth/passkeys/{id}', passkeyPath, { headers: browser, json: { password } });
    // A new username (the sign-up rules), then the old one back: the sign-ins below use it.
    const renamed = await call('POST /auth/username', '/auth/username', { headers: browser, json: { username: `${username}-docs` } });
    expect(renamed.json).toEqual({ username: `${username}-docs` });
    await call('POST /auth/username', '/auth/username', { headers: browser, json: { username } });
    // As if the account had signed up through a provider: no password; it sets one (the same again).
    await gh.deps.stores.users.setPasswordHash(me!.id, NO_PASSWORD, 0);
    await call('POST /auth/password/set', '/auth/password/set', { headers: browser, json: { new_password: password } });
    // The device flow: a TV asks, the browser looks the code up and approves (another is denied), the TV redeems.
    await gh.deps.stores.clients.create({
      clientId: 'docs-tv', name: 'Docs TV', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'], audiences: [], service: null, secrets: [],
      createdAt: 0, updatedAt: 0, lastUsedAt: null,
    });
    const tvClient = { client_id: 'docs-tv' };
    const started = await call('POST /auth/device/authorize', '/auth/device/authorize', { form: { ...tvClient, device_name: 'Docs TV' } });
    const other = await call('POST /auth/device/authorize', '/auth/device/authorize', { form: tvClient });
    await call('POST /auth/device/lookup', '/auth/device/lookup', { headers: browser, json: { user_code: started.json!.user_code } });
    await call('POST /auth/device/approve', '/auth/device/approve', { headers: browser, json: { user_code: started.json!.user_code } });
    await call('POST /auth/device/deny', '/auth/device/deny', { headers: browser, json: { user_code: other.json!.user_code } });
    const polled = await call('POST /auth/token', '/auth/token', { form: { ...tvClient, grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.json!.device_code as string } });
    expect(polled.json!.refresh_token).toMatch(/^ghr_/);
    // Step-up (issue 17): the browser session confirms its password again.
    await call('POST /auth/reauth', '/auth/reauth', { headers: browser, json: { password } });
    await call('POST /auth/password', '/auth/password', { headers: browser, json: { current_password: password, new_password: 'documented passphrase 2' } });
    // Federation (issue 15), against a real oidc-provider: list, link (answers the URL), the provider's login, the callback (links).
    await call('GET /auth/federation/providers', '/auth/federation/providers');
    const link = await call('POST /auth/federation/{provider}/link', '/auth/federation/docs-idp/link', { headers: browser });
    const linkTx = link.res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const linked = await idp.signIn(link.json!.url as string);
    await call('GET /auth/federation/{provider}/callback', linked.pathname + linked.search, { headers: { ...browser, cookie: `${browser.cookie}; ${linkTx}` } });
    expect((await gh.deps.stores.identities.listForUser(me!.id)).map((i) => i.provider)).toContain('docs-idp');
    await call('GET /auth/federation/{provider}/start', '/auth/federation/docs-idp/start?next=%2F');
    // The admin API (issue 18): the walker made admin in the store signs in again (a fresh sign-in), then every admin operation on another user.
    await gh.deps.stores.users.setRoles(me!.id, ['admin'], gh.deps.clock.now());
    const adminBrowser = await signin('documented passphrase 2');
    const otherName = `docs-other-${randomId().slice(0, 6).toLowerCase()}`;
    await call('POST /auth/signup', '/auth/signup', { json: { username: otherName, password } });
    const target = await gh.deps.stores.users.findByCanonical(otherName);
    const otherSession = await createDeviceSession(gh.deps, { user: target!, deviceId: 'docs-other', deviceName: null, persistent: true });
    const otherPath = `/auth/admin/users/${target!.id}`;
    const users = await call('GET /auth/admin/users', '/auth/admin/users?limit=1', { headers: adminBrowser });
    await call('GET /auth/admin/users', `/auth/admin/users?limit=1&cursor=${String(users.json!.next_cursor)}`, { headers: adminBrowser });
    await call('GET /auth/admin/users/{id}', otherPath, { headers: adminBrowser });
    await call('PUT /auth/admin/users/{id}/roles', `${otherPath}/roles`, { headers: adminBrowser, json: { roles: ['staff'] } });
    await call('POST /auth/admin/users/{id}/require-password-change', `${otherPath}/require-password-change`, { headers: adminBrowser });
    await call('POST /auth/admin/users/{id}/reset-link', `${otherPath}/reset-link`, { headers: adminBrowser });
    await call('GET /auth/admin/sessions', '/auth/admin/sessions', { headers: adminBrowser });
    await call('DELETE /auth/admin/sessions/{id}', `/auth/admin/sessions/${otherSession.session.id}`, { headers: adminBrowser });
    await call('POST /auth/admin/users/{id}/signout-all', `${otherPath}/signout-all`, { headers: adminBrowser });
    await call('POST /auth/admin/users/{id}/disable', `${otherPath}/disable`, { headers: adminBrowser });
    await call('POST /auth/admin/users/{id}/enable', `${otherPath}/enable`, { headers: adminBrowser });
    await call('GET /auth/admin/keys', '/auth/admin/keys', { headers: adminBrowser });
    await call('POST /auth/admin/keys/rotate', '/auth/admin/keys/rotate', { headers: adminBrowser });
    await call('POST /auth/admin/clients', '/auth/admin/clients', { headers: adminBrowser, json: { client_id: 'docs-service', name: 'Docs service', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'] } });
    await call('GET /auth/admin/clients', '/auth/admin/clients', { headers: adminBrowser });
    await call('DELETE /auth/admin/clients/{id}', '/auth/admin/clients/docs-service', { headers: adminBrowser });
    await call('GET /auth/admin/audit', '/auth/admin/audit?limit=5', { headers: adminBrowser });
    const exported = await call('GET /auth/admin/audit/export', '/auth/admin/audit/export', { headers: adminBrowser });
    expect(exported.res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    await call('DELETE /auth/admin/users/{id}', otherPath, { headers: adminBrowser });
    await call('POST /auth/signout', '/auth/signout', { headers: browser });
    await call('POST /auth/signout-all', '/auth/signout-all', { headers: await signin('documented passphrase 2') });
    // A reset link asked for now (a password change or an address change voids an older one); the reset ends every session.
    await call('POST /auth/password/forgot', '/auth/password/forgot', { headers: { origin: gh.url }, json: { username_or_email: address } });
    const resetMail = await smtp.waitFor((m) => m.to.includes(address) && m.subject === 'Reset your password');
    await call('POST /auth/password/reset', '/auth/password/reset', { headers: { origin: gh.url }, json: { token: tokenIn(resetMail.text), password: 'documented passphrase 3' } });
    await call('DELETE /auth/email', '/auth/email', { headers: await signin('documented passphrase 3'), json: { password: 'documented passphrase 3' } });

    await checker.close();
    expect([...walked].sort(), 'operations this walk does not call').toEqual(operations(doc).map((o) => o.key).sort());
  }, 60_000);
});
