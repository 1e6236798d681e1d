import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieNames } from '../config/cookie-names.js';
import { DEFAULTS } from '../config/defaults.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { authRoutes } from '../gateway/auth-routes.js';
import { startAll, type RunningGatehouse } from '../start/start-all.js';
import type { Deps } from '../context.js';
import { NO_PASSWORD, type UserRecord } from '../stores/types.js';
import { createLogger } from '../util/logger.js';
import { createPasswordHasher } from '../crypto/password-hasher.js';
import { hashPassword } from './auth-context.js';
import { declaredRoutes, installLanes, PUBLIC_LANE } from './lanes.js';
import { createDeviceSession } from './sessions.js';
import { issueAccessToken, issueClientAccessToken } from '../credentials/access-token.js';
import { addClient } from '../credentials/clients.js';
import { grantableScopes } from '../credentials/scope.js';
import { createAuthHarness, relaxAbuseLimits } from './test-helpers.js';

/*
 * Issue 11 item 2: every /auth endpoint, walked with every credential kind, through the real
 * gateway and auth service (startAll: real HTTP hops, real passports). The expected outcome of
 * each pair is written here, not read from the endpoints' declarations, so loosening (or
 * removing) any endpoint's lane fails this test.
 */

const PASSWORD = 'lanes passphrase 1';
const NEW_PASSWORD = 'another lanes passphrase 2';

type Kind = 'cookie' | 'access_token' | 'access_token+account' | 'api_token' | 'api_token+account' | 'client' | 'none';
const KINDS: readonly Kind[] = ['cookie', 'access_token', 'access_token+account', 'api_token', 'api_token+account', 'client', 'none'];
/**
 * A service client's own token (issue 14 §3, kind `client`, here even with the `account` scope):
 * no endpoint names the kind, so every non-public one refuses it. An endpoint that comes to
 * accept it says so in its `expect.client`.
 */
const CLIENT: Outcome = 'credential_not_allowed';

/** What a pair must answer: the endpoint's success status, or the refusal's code. */
type Outcome = number | 'credential_not_allowed' | 'insufficient_scope' | 'unauthenticated' | 'admin_required';

interface Fixture {
  user: UserRecord;
  /** Another device session and API token of the same user (targets of the DELETEs). */
  otherSessionId: string;
  otherTokenId: string;
  /** A linked identity-provider account of the user (issue 15): provider "google". */
  identitySubject: string;
}

interface Endpoint {
  method: string;
  /** The route as registered. */
  route: string;
  path(f: Fixture): string;
  body?: Record<string, unknown> | ((f: Fixture) => Record<string, unknown>);
  /** The fixture user has no password (signed up through an identity provider). */
  passwordless?: boolean;
  expect: Record<Exclude<Kind, 'client'>, Outcome> & { client?: Outcome };
}

function expected(e: Endpoint, kind: Kind): Outcome {
  return kind === 'client' ? (e.expect.client ?? CLIENT) : e.expect[kind];
}

const ACCOUNT: Endpoint['expect'] = {
  cookie: 0,
  'access_token+account': 0,
  'api_token+account': 0,
  access_token: 'insufficient_scope',
  api_token: 'insufficient_scope',
  none: 'unauthenticated',
};

function account(status: number): Endpoint['expect'] {
  return { ...ACCOUNT, cookie: status, 'access_token+account': status, 'api_token+account': status };
}

/** A browser session only (BROWSER_SESSION_LANE): every token refused, whatever its scopes. */
function browserSessionOnly(status: number): Endpoint['expect'] {
  return {
    cookie: status,
    access_token: 'credential_not_allowed',
    'access_token+account': 'credential_not_allowed',
    api_token: 'credential_not_allowed',
    'api_token+account': 'credential_not_allowed',
    none: 'unauthenticated',
  };
}

/**
 * The admin API (ADMIN_LANE, issue 18): a browser session only, every token refused whatever its
 * scopes; the fixture user is no admin, so the session gets 403 admin_required past the lane
 * (admin-api.test.ts and admin-gateway.test.ts walk them as an admin).
 */
const ADMIN_ONLY: Endpoint['expect'] = { ...browserSessionOnly(0), cookie: 'admin_required' };

/** How the user signs in (SIGN_IN_METHODS_LANE): the account lane without API tokens, whatever their scopes. */
function signInMethods(status: number): Endpoint['expect'] {
  return { ...account(status), api_token: 'credential_not_allowed', 'api_token+account': 'credential_not_allowed' };
}

const ENDPOINTS: Endpoint[] = [
  {
    method: 'GET',
    route: '/auth/me',
    path: () => '/auth/me',
    expect: { cookie: 200, access_token: 200, 'access_token+account': 200, api_token: 200, 'api_token+account': 200, none: 'unauthenticated' },
  },
  {
    method: 'POST',
    route: '/auth/signout',
    path: () => '/auth/signout',
    expect: {
      cookie: 204,
      access_token: 204,
      'access_token+account': 204,
      api_token: 'credential_not_allowed',
      'api_token+account': 'credential_not_allowed',
      none: 'unauthenticated',
    },
  },
  { method: 'POST', route: '/auth/signout-all', path: () => '/auth/signout-all', expect: account(204) },
  { method: 'GET', route: '/auth/sessions', path: () => '/auth/sessions', expect: account(200) },
  { method: 'DELETE', route: '/auth/sessions/:id', path: (f) => `/auth/sessions/${f.otherSessionId}`, expect: account(204) },
  { method: 'POST', route: '/auth/password', path: () => '/auth/password', body: { current_password: PASSWORD, new_password: NEW_PASSWORD }, expect: account(204) },
  {
    method: 'POST',
    route: '/auth/api-tokens',
    path: () => '/auth/api-tokens',
    body: { name: 'made in the walk', scopes: ['notes:read'] },
    expect: {
      cookie: 201,
      'access_token+account': 201,
      access_token: 'insufficient_scope',
      api_token: 'credential_not_allowed',
      'api_token+account': 'credential_not_allowed',
      none: 'unauthenticated',
    },
  },
  { method: 'GET', route: '/auth/api-tokens', path: () => '/auth/api-tokens', expect: account(200) },
  { method: 'DELETE', route: '/auth/api-tokens/:id', path: (f) => `/auth/api-tokens/${f.otherTokenId}`, expect: account(204) },
  { method: 'GET', route: '/auth/activity', path: () => '/auth/activity', expect: account(200) },
  { method: 'POST', route: '/auth/password/set', path: () => '/auth/password/set', body: { new_password: NEW_PASSWORD }, passwordless: true, expect: account(204) },
  // A name of the fixture's own (each pair has a new user): 200 {username}.
  { method: 'POST', route: '/auth/username', path: () => '/auth/username', body: (f) => ({ username: `${f.user.username}-new` }), expect: account(200) },
  { method: 'GET', route: '/auth/identities', path: () => '/auth/identities', expect: account(200) },
  // Re-authentication (issue 17) records a fresh sign-in on a browser session: no token may.
  {
    method: 'POST',
    route: '/auth/reauth',
    path: () => '/auth/reauth',
    body: { password: PASSWORD },
    expect: browserSessionOnly(200),
  },
  // Passkey options for a re-authentication: a browser session only, as /auth/reauth; the walk's Origin is
  // 127.0.0.1 (RP id localhost) and the fixture user has no passkey: 409 once past the lane.
  {
    method: 'POST',
    route: '/auth/reauth/passkey-options',
    path: () => '/auth/reauth/passkey-options',
    expect: browserSessionOnly(409),
  },
  // A browser session only (the callback needs the same session back); no provider "x" here: 404 once past the lane.
  {
    method: 'POST',
    route: '/auth/federation/:provider/link',
    path: () => '/auth/federation/x/link',
    expect: browserSessionOnly(404),
  },
  { method: 'DELETE', route: '/auth/identities/:provider/:subject', path: (f) => `/auth/identities/google/${f.identitySubject}`, expect: account(204) },
  // Second factors (issue 17): the fixture user has none, so past the lane 409 mfa_not_enrolled, except enrolment itself.
  { method: 'GET', route: '/auth/mfa', path: () => '/auth/mfa', expect: account(200) },
  { method: 'POST', route: '/auth/mfa/totp', path: () => '/auth/mfa/totp', body: { password: PASSWORD }, expect: signInMethods(200) },
  { method: 'POST', route: '/auth/mfa/totp/confirm', path: () => '/auth/mfa/totp/confirm', body: { code: '000000' }, expect: signInMethods(409) },
  { method: 'DELETE', route: '/auth/mfa/totp', path: () => '/auth/mfa/totp', body: { password: 'not the password' }, expect: signInMethods(401) },
  { method: 'POST', route: '/auth/mfa/recovery-codes', path: () => '/auth/mfa/recovery-codes', body: { password: PASSWORD }, expect: signInMethods(409) },
  // Passkeys (issue 17): made in a browser, so registering takes a browser session only; the
  // RP id here is localhost and the walk's Origin 127.0.0.1, so options answer 409 passkeys_unavailable
  // once past the lane, and a made-up answer 400. Listing, renaming and removing are account endpoints.
  { method: 'POST', route: '/auth/passkeys/options', path: () => '/auth/passkeys/options', body: { password: PASSWORD }, expect: browserSessionOnly(409) },
  { method: 'POST', route: '/auth/passkeys', path: () => '/auth/passkeys', body: { name: 'walk', response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30' } } }, expect: browserSessionOnly(400) },
  { method: 'GET', route: '/auth/passkeys', path: () => '/auth/passkeys', expect: account(200) },
  { method: 'PATCH', route: '/auth/passkeys/:id', path: () => '/auth/passkeys/none', body: { name: 'walk' }, expect: signInMethods(404) },
  { method: 'DELETE', route: '/auth/passkeys/:id', path: () => '/auth/passkeys/none', body: { password: PASSWORD }, expect: signInMethods(404) },
  // Email (issue 18): reading is an account endpoint; setting or removing the address (what
  // recovery reaches) is how the user signs in: no API token. No SMTP in the walk, so PUT answers
  // 503 email_unavailable past the lane; the fixture user has no address, so DELETE 404.
  { method: 'GET', route: '/auth/email', path: () => '/auth/email', expect: account(200) },
  { method: 'PUT', route: '/auth/email', path: () => '/auth/email', body: { email: 'walk@example.com', password: PASSWORD }, expect: signInMethods(503) },
  { method: 'DELETE', route: '/auth/email', path: () => '/auth/email', body: { password: PASSWORD }, expect: signInMethods(404) },
  // The /device page's endpoints: a browser session only (a wrong code: 400 invalid_user_code).
  ...['lookup', 'approve', 'deny'].map((step) => ({
    method: 'POST',
    route: `/auth/device/${step}`,
    path: () => `/auth/device/${step}`,
    body: { user_code: 'BCDF-GHJK' },
    expect: browserSessionOnly(400),
  })),
  // The admin API (issue 18): the fixture user (no admin) targets themselves, their other session; the bodies pass the schemas.
  ...([
    ['GET', '/auth/admin/users'],
    ['GET', '/auth/admin/users/:id'],
    ['PUT', '/auth/admin/users/:id/roles'],
    ['POST', '/auth/admin/users/:id/disable'],
    ['POST', '/auth/admin/users/:id/enable'],
    ['POST', '/auth/admin/users/:id/signout-all'],
    ['POST', '/auth/admin/users/:id/require-password-change'],
    ['POST', '/auth/admin/users/:id/reset-link'],
    ['DELETE', '/auth/admin/users/:id'],
    ['GET', '/auth/admin/sessions'],
    ['DELETE', '/auth/admin/sessions/:id'],
    ['GET', '/auth/admin/keys'],
    ['POST', '/auth/admin/keys/rotate'],
    ['GET', '/auth/admin/clients'],
    ['POST', '/auth/admin/clients'],
    ['DELETE', '/auth/admin/clients/:id'],
    ['GET', '/auth/admin/audit'],
    ['GET', '/auth/admin/audit/export'],
  ] as const).map(([method, route]) => ({
    method,
    route,
    path: (f: Fixture) => route.replace(':id', route.startsWith('/auth/admin/sessions') ? f.otherSessionId : route.startsWith('/auth/admin/clients') ? 'walk-client' : f.user.id),
    ...(route === '/auth/admin/users/:id/roles' ? { body: { roles: ['admin'] } } : route === '/auth/admin/clients' && method === 'POST' ? { body: { client_id: 'walk-client', name: 'Walk', type: 'public', grants: ['device_code'], scopes: ['notes:read'] } } : {}),
    expect: ADMIN_ONLY,
  })),
];

/**
 * Routes under a gateway route with `auth: 'optional'`: public ones that read a session when one
 * comes (the federation callback in link mode checks the session is the linking account's), and
 * the link POST under the same prefix, whose lane still requires the session.
 */
const OPTIONAL_PASSPORT = ['/auth/federation/'];

/** Public endpoints: what each answers without a credential, and must answer the same with any. */
/** `atLocalhost`: a cookie's Origin names http://localhost:<port> (passkeys: this loopback gateway's RP id is localhost; 127.0.0.1 gets 409). */
const PUBLIC: Array<{ method: string; route: string; path?: string; body?: string | (() => string); contentType?: string; atLocalhost?: boolean; expect: number }> = [
  { method: 'GET', route: '/auth/challenge', expect: 200 },
  { method: 'GET', route: '/auth/openapi.json', expect: 200 },
  { method: 'GET', route: '/auth/federation/providers', expect: 200 },
  // No provider "x" is configured here (test/federation/flow.test.ts runs the flow).
  { method: 'GET', route: '/auth/federation/:provider/start', path: '/auth/federation/x/start', expect: 404 },
  { method: 'GET', route: '/auth/federation/:provider/callback', path: '/auth/federation/x/callback', expect: 404 },
  { method: 'POST', route: '/auth/signup', body: JSON.stringify({ username: 'x', password: 'short' }), contentType: 'application/json', expect: 400 },
  { method: 'POST', route: '/auth/signin', body: () => JSON.stringify({ username: `nobody-${randomId().slice(0, 8)}`, password: 'wrong password 1' }), contentType: 'application/json', expect: 401 },
  { method: 'POST', route: '/auth/signin/mfa', body: JSON.stringify({ ticket: 'not-a-ticket', code: '000000' }), contentType: 'application/json', expect: 401 },
  { method: 'POST', route: '/auth/signin/mfa/passkey-options', body: JSON.stringify({ ticket: 'not-a-ticket' }), contentType: 'application/json', atLocalhost: true, expect: 401 },
  { method: 'POST', route: '/auth/signin/passkey/options', body: '{}', contentType: 'application/json', atLocalhost: true, expect: 200 },
  { method: 'POST', route: '/auth/signin/passkey', body: JSON.stringify({ response: { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30' } } }), contentType: 'application/json', expect: 401 },
  // Account recovery (issue 18): the same 202 for anyone; a made-up token 400.
  { method: 'POST', route: '/auth/password/forgot', body: () => JSON.stringify({ username_or_email: `nobody-${randomId().slice(0, 8)}` }), contentType: 'application/json', expect: 202 },
  { method: 'POST', route: '/auth/password/reset', body: JSON.stringify({ token: 'not-a-token', password: NEW_PASSWORD }), contentType: 'application/json', expect: 400 },
  { method: 'POST', route: '/auth/email/verify', body: JSON.stringify({ token: 'not-a-token' }), contentType: 'application/json', expect: 400 },
  { method: 'POST', route: '/auth/token', body: 'grant_type=bogus', contentType: 'application/x-www-form-urlencoded', expect: 400 },
  { method: 'POST', route: '/auth/revoke', body: 'token=not-a-token', contentType: 'application/x-www-form-urlencoded', expect: 200 },
  { method: 'POST', route: '/auth/introspect', body: 'token=not-a-token', contentType: 'application/x-www-form-urlencoded', expect: 401 },
  { method: 'POST', route: '/auth/device/authorize', body: 'client_id=nobody', contentType: 'application/x-www-form-urlencoded', expect: 401 },
];

let gh: RunningGatehouse;
let dataDir: string;
let passwordHash: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-lanes-'));
  const config = structuredClone(DEFAULTS);
  config.port = 0;
  config.dataDir = dataDir;
  config.logLevel = 'silent';
  // Every pair signs in a new user from this one address; the limits are not under test here.
  relaxAbuseLimits(config);
  gh = await startAll({ config, logger: createLogger('silent') });
  // The stored hash of the test users, from a hasher of the test's own (the service's is inside startAll).
  const hasher = createPasswordHasher({ maxConcurrent: 1 });
  passwordHash = await hashPassword({ hasher }, PASSWORD);
  await hasher.close();
}, 30_000);

afterAll(async () => {
  await gh?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function newUser(options: { passwordless?: boolean } = {}): Promise<Fixture> {
  const now = gh.deps.clock.now();
  const name = `lane-${randomId().slice(0, 10).toLowerCase()}`;
  const user: UserRecord = { id: randomId(), username: name, usernameCanonical: name, passwordHash: options.passwordless === true ? NO_PASSWORD : passwordHash, roles: [], createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
  await gh.deps.stores.users.create(user);
  const identitySubject = randomId();
  await gh.deps.stores.identities.link({ provider: 'google', subject: identitySubject, userId: user.id, email: null, emailVerified: false, createdAt: now, lastUsedAt: now });
  const other = await createSessionFor(gh.deps, user, 'other-device');
  const otherToken = await createApiTokenFor(user, ['notes:read']);
  return { user, otherSessionId: other.session.id, otherTokenId: otherToken.id, identitySubject };
}

/** A device session of the user (as sign-in and the password grant make it), with an access token of `scope`. */
async function createSessionFor(deps: Deps, user: UserRecord, deviceId: string, scope?: string) {
  const { session, secret } = await createDeviceSession(deps, { user, deviceId, deviceName: null, persistent: true, ...(scope !== undefined ? { scope } : {}) });
  const accessToken = scope === undefined ? '' : (await issueAccessToken(deps, { user, session, scope })).token;
  return { session, secret, accessToken };
}

async function createApiTokenFor(user: UserRecord, scopes: string[]): Promise<{ id: string; token: string }> {
  const token = generateApiToken();
  const id = randomId();
  await gh.deps.stores.apiTokens.create({ id, userId: user.id, name: 'walk', tokenHash: hashSecret(token), scopes, createdAt: gh.deps.clock.now(), expiresAt: null, lastUsedAt: null });
  return { id, token };
}

/** Request headers that carry a credential of this kind for the user (made the way sign-in, the password grant and POST /auth/api-tokens make them). */
async function credential(kind: Kind, user: UserRecord): Promise<Record<string, string>> {
  switch (kind) {
    case 'cookie': {
      const s = await createSessionFor(gh.deps, user, 'browser');
      return { cookie: `${cookieNames(gh.deps.config).session}=${s.secret}`, 'x-csrf-token': s.session.csrfToken, origin: gh.url };
    }
    case 'access_token':
    case 'access_token+account': {
      const s = await createSessionFor(gh.deps, user, 'tv', kind === 'access_token' ? 'notes:read notes:write' : 'account notes:read');
      return { authorization: `Bearer ${s.accessToken}` };
    }
    case 'api_token':
      return { authorization: `Bearer ${(await createApiTokenFor(user, ['notes:read', 'notes:write'])).token}` };
    case 'api_token+account':
      return { authorization: `Bearer ${(await createApiTokenFor(user, ['account'])).token}` };
    case 'client': {
      if ((await gh.deps.stores.clients.get('lanes-service')) === null) {
        await addClient(gh.deps.stores.clients, { clientId: 'lanes-service', name: 'Lanes', type: 'confidential', grants: ['client_credentials'], scopes: ['notes:read'], audiences: [] }, grantableScopes(gh.deps.config), gh.deps.clock.now());
      }
      return { authorization: `Bearer ${(await issueClientAccessToken(gh.deps, { clientId: 'lanes-service', scope: 'account notes:read notes:write' })).token}` };
    }
    case 'none':
      return {};
  }
}

describe('credential lanes (DESIGN §6): every /auth endpoint with every credential kind', () => {
  it('the walk covers every registered route, and the gateway forwards a passport to exactly the non-public ones', async () => {
    const h = await createAuthHarness();
    try {
      const routes = declaredRoutes(h.app).filter((r) => r.method !== 'HEAD');
      const gateway = authRoutes('http://auth.invalid');
      const walked = new Set([...ENDPOINTS.map((e) => `${e.method} ${e.route}`), ...PUBLIC.map((p) => `${p.method} ${p.route}`)]);
      const unwalked: string[] = [];
      for (const r of routes) {
        // The auth service's own /healthz and /readyz are never routed by the gateway.
        if (!r.url.startsWith('/auth')) {
          expect('public' in r.lane, `${r.method} ${r.url}`).toBe(true);
          continue;
        }
        if (!walked.has(`${r.method} ${r.url}`)) unwalked.push(`${r.method} ${r.url}`);
        const gw = [...gateway].sort((x, y) => y.path.length - x.path.length).find((g) => r.url === g.path || r.url.startsWith(`${g.path}/`));
        const where = `${r.method} ${r.url}: gateway auth ${gw?.auth} vs lane ${JSON.stringify(r.lane)}`;
        if (gw?.auth === 'optional') {
          // Public, but a session is passed on when the browser has one: only where it is read (the federation callback's link mode).
          expect(OPTIONAL_PASSPORT.some((prefix) => r.url.startsWith(prefix)), where).toBe(true);
          continue;
        }
        expect(gw?.auth === 'none', where).toBe('public' in r.lane);
      }
      expect(unwalked, 'routes this test does not walk').toEqual([]);
      expect(routes.filter((r) => r.url.startsWith('/auth')).length).toBe(walked.size);
    } finally {
      await h.close();
    }
  });

  it('a route without a declared lane stops the service from starting', async () => {
    const app = Fastify();
    installLanes(app, async () => undefined);
    app.get('/auth/declared', { config: { lane: PUBLIC_LANE } }, async () => 'ok');
    expect(() => app.get('/auth/forgotten', async () => 'no')).toThrow(/GET \/auth\/forgotten declares no credential lane/);
    await app.close();
  });

  for (const e of ENDPOINTS) {
    it(`${e.method} ${e.route}`, async () => {
      const answers: Record<string, unknown> = {};
      const wanted: Record<string, unknown> = {};
      for (const kind of KINDS) {
        const f = await newUser({ passwordless: e.passwordless === true });
        const headers = await credential(kind, f.user);
        if (e.body !== undefined) headers['content-type'] = 'application/json';
        const sessionsBefore = (await gh.deps.stores.sessions.listByUser(f.user.id)).map((x) => x.id).sort();
        const tokensBefore = (await gh.deps.stores.apiTokens.listByUser(f.user.id)).map((x) => x.id).sort();
        const res = await fetch(gh.url + e.path(f), { method: e.method, headers, ...(e.body !== undefined ? { body: JSON.stringify(typeof e.body === 'function' ? e.body(f) : e.body) } : {}) });
        const text = await res.text();
        const want = expected(e, kind);
        if (typeof want !== 'number') {
          // A refusal changed nothing: no session ended, no token made or deleted, the password kept.
          expect((await gh.deps.stores.sessions.listByUser(f.user.id)).map((x) => x.id).sort(), `${kind}: sessions`).toEqual(sessionsBefore);
          expect((await gh.deps.stores.apiTokens.listByUser(f.user.id)).map((x) => x.id).sort(), `${kind}: API tokens`).toEqual(tokensBefore);
          expect((await gh.deps.stores.users.findById(f.user.id))?.passwordHash, `${kind}: password`).toBe(f.user.passwordHash);
          expect(await gh.deps.stores.identities.listForUser(f.user.id), `${kind}: identities`).toHaveLength(1);
        }
        wanted[kind] = want;
        if (typeof want === 'number') {
          answers[kind] = res.status;
        } else {
          const problem = (res.headers.get('content-type') ?? '').startsWith('application/problem+json') ? (JSON.parse(text) as { code?: string; scope?: string; detail?: string }) : {};
          answers[kind] = problem.code ?? `${res.status} ${text.slice(0, 200)}`;
          if (want === 'unauthenticated') expect(res.status, kind).toBe(401);
          else {
            expect(res.status, kind).toBe(403);
            expect(problem.detail, kind).toContain(`${e.method} ${e.route}`);
          }
          if (want === 'insufficient_scope') {
            expect(problem.scope, kind).toBe('account');
            expect(res.headers.get('www-authenticate'), kind).toBe('Bearer realm="gatehouse", error="insufficient_scope", scope="account"');
          }
        }
      }
      expect(answers).toEqual(wanted);
    }, 30_000);
  }

  it('HEAD, other methods, trailing slashes and encoded paths reach no account endpoint past its lane', async () => {
    const f = await newUser();
    const statusOf = async (kind: Kind, path: string, method: string): Promise<number> => {
      const res = await fetch(gh.url + path, { method, headers: await credential(kind, f.user) });
      await res.text();
      return res.status;
    };
    // Fastify answers HEAD for every GET route: the same lane guards it.
    for (const e of ENDPOINTS.filter((x) => x.method === 'GET')) {
      const path = e.path(f);
      // One kind at a time: two token kinds share the device id "tv" (the second would replace the first).
      const seen: Record<string, number> = {};
      for (const k of KINDS) seen[k] = await statusOf(k, path, 'HEAD');
      const want = Object.fromEntries(KINDS.map((k) => [k, typeof expected(e, k) === 'number' ? expected(e, k) : expected(e, k) === 'unauthenticated' ? 401 : 403]));
      expect(seen, `HEAD ${e.route}`).toEqual(want);
    }
    // Spellings of an account path: each is refused (401/403), not found (404) or bad (400); never served.
    for (const path of ['/auth/sessions/', '/auth/%73essions', '/auth/sessions%2F', '/auth/./sessions', '/auth/x/../sessions', '/AUTH/sessions', '/auth//sessions', '/auth/sessions;x', '/auth/sessions?x=1']) {
      for (const method of ['GET', 'OPTIONS', 'PUT']) {
        const s = await statusOf('api_token', path, method);
        expect([400, 401, 403, 404, 405], `${method} ${path} with an API token`).toContain(s);
      }
    }
  }, 30_000);

  it('public endpoints answer the same whatever credential comes with the request', async () => {
    const f = await newUser();
    for (const p of PUBLIC) {
      const seen: Record<string, number> = {};
      for (const kind of KINDS) {
        const headers = await credential(kind, f.user);
        if (p.contentType !== undefined) headers['content-type'] = p.contentType;
        if (p.atLocalhost === true && headers.origin !== undefined) headers.origin = headers.origin.replace('127.0.0.1', 'localhost');
        const res = await fetch(gh.url + (p.path ?? p.route), { method: p.method, headers, ...(p.body !== undefined ? { body: typeof p.body === 'string' ? p.body : p.body() } : {}) });
        await res.text();
        seen[kind] = res.status;
      }
      expect(seen, `${p.method} ${p.route}`).toEqual(Object.fromEntries(KINDS.map((k) => [k, p.expect])));
    }
  }, 30_000);
});
