/**
 * Real identity providers for the federation tests (issue 15), on 127.0.0.1, free ports:
 * - `startOidcProvider`: `oidc-provider` (the certified Node OpenID Provider) with one test user
 *   and one registered client, whose login interaction is completed by plain HTTP (`signIn`: no
 *   browser). Start two for mix-up cases.
 * - `startHostileProvider`: a small node:http OpenID Provider that answers discovery, its JWKS
 *   and a token endpoint returning whatever ID token the test crafts (alg none, HS256 with the
 *   public key, wrong iss/aud, expired), optionally slowly. A real server, not a mock.
 * - `startFakeGithub`: a node:http stand-in for GitHub's token endpoint, `/user` and `/user/emails`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';
import { expect } from 'vitest';
import { GatehouseError } from '../../src/errors/index.js';
export { freePort } from '../../src/stores/redis/redis-server.test-helpers.js';

export interface TestUser {
  readonly sub: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly preferredUsername: string;
  readonly name: string;
}

export const ALICE: TestUser = { sub: 'alice-sub-1', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice Liddell' };

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that was free a moment ago (nothing listens on it now): a provider that is down. */
async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export interface OidcProviderHandle {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Drives the provider's login by HTTP for `authorizationUrl` (from `FederationProvider.start`) and returns the callback URL it redirects to (code, state, iss). */
  signIn(authorizationUrl: string, user?: TestUser): Promise<URL>;
  close(): Promise<void>;
}

export interface OidcProviderOptions {
  /** The redirect URI registered for the client. */
  readonly redirectUri: string;
  readonly users?: readonly TestUser[];
  /** false (the default here): email and profile claims ride in the ID token. true: only in the user info (the provider's default). */
  readonly conformIdTokenClaims?: boolean;
}

/** A tiny cookie jar: name=value, paths ignored (sending a cookie to a path it was not set for is harmless here). */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProviderHandle> {
  const users = new Map((options.users ?? [ALICE]).map((u) => [u.sub, u]));
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = `client-${port}`;
  const clientSecret = randomBytes(24).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey: JWK = { ...(await exportJWK(privateKey)), kid: `k-${port}`, use: 'sig', alg: 'RS256' };
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [options.redirectUri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
    conformIdTokenClaims: options.conformIdTokenClaims ?? false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, email: user.email, email_verified: user.emailVerified, preferred_username: user.preferredUsername, name: user.name }),
      };
    },
  });
  const callback = provider.callback();
  // The interaction: GET shows a one-field form (for a browser); POST .../login signs the named user in and grants what was asked.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url!, issuer).pathname);
    if (!m) {
      void callback(req, res);
      return;
    }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(`<form method="post" action="/interaction/${details.uid}/login"><input name="login" value="${ALICE.sub}"><button>Sign in</button></form>`);
          return;
        }
        const accountId = new URLSearchParams(await readBody(req)).get('login') ?? '';
        if (!users.has(accountId)) {
          await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'unknown test user' }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
      } catch (err) {
        json(res, 500, { error: 'server_error', error_description: (err as Error).message });
      }
    })();
  });

  async function signIn(authorizationUrl: string, user: TestUser = ALICE): Promise<URL> {
    const jar = new Jar();
    let url = new URL(authorizationUrl);
    for (let hop = 0; hop < 10; hop++) {
      if (url.origin !== issuer) return url; // back at the client: the callback
      const interaction = /^\/interaction\/([\w-]+)$/.exec(url.pathname);
      const res = interaction
        ? await fetch(new URL(`/interaction/${interaction[1]}/login`, issuer), {
            method: 'POST',
            redirect: 'manual',
            headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ login: user.sub }),
          })
        : await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.take(res);
      const location = res.headers.get('location');
      if (location === null) throw new Error(`the provider answered ${res.status} without a redirect at ${url.pathname}: ${await res.text()}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects at the provider');
  }

  return { issuer, clientId, clientSecret, signIn, close: () => close(server) };
}

export interface HostileProviderHandle {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The private key behind the JWKS it publishes (RS256, kid "hostile-1"). */
  readonly privateKey: CryptoKey;
  /** The public key as PEM, what an HS256-with-the-public-key forgery uses as its HMAC secret. */
  readonly publicKeyPem: string;
  /** What the token endpoint answers with as `id_token`, given the code it was sent (the test crafts it). */
  idToken: (code: string) => Promise<string>;
  /** Delays before answering discovery and the token endpoint (ms): a slow provider. */
  delays: { discovery: number; token: number };
  /** How many token requests came. */
  tokenRequests: number;
  /** Signs `claims` with the provider's key (RS256) by default, or as told. */
  sign(claims: JWTPayload, how?: 'rs256' | 'none' | 'hs256-public-key' | 'other-key'): Promise<string>;
  /** Standard valid claims for `nonce` (iss, aud, sub, iat, exp, nonce); override any. */
  claims(nonce: string, overrides?: JWTPayload): JWTPayload;
  close(): Promise<void>;
}

/** A node:http OpenID Provider whose token endpoint returns crafted ID tokens. Listens on `port` when given (a provider that comes back up). */
export async function startHostileProvider(options: { readonly port?: number } = {}): Promise<HostileProviderHandle> {
  const server = createServer();
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'hostile-1', use: 'sig', alg: 'RS256' };
  const publicKeyPem = await exportSPKI(publicKey);
  const other = await generateKeyPair('RS256');
  const handle: HostileProviderHandle = {
    issuer,
    clientId: 'hostile-client',
    clientSecret: 'hostile-secret',
    privateKey,
    publicKeyPem,
    idToken: () => Promise.reject(new Error('no ID token crafted')),
    delays: { discovery: 0, token: 0 },
    tokenRequests: 0,
    async sign(claims, how = 'rs256') {
      switch (how) {
        case 'none':
          return new UnsecuredJWT(claims).encode();
        case 'hs256-public-key':
          return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'hostile-1' }).sign(new TextEncoder().encode(publicKeyPem));
        case 'other-key':
          return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'hostile-1' }).sign(other.privateKey);
        default:
          return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'hostile-1' }).sign(privateKey);
      }
    },
    claims(nonce, overrides = {}) {
      const now = Math.floor(Date.now() / 1000);
      return { iss: issuer, aud: handle.clientId, sub: 'hostile-user', email: 'mallory@example.com', email_verified: true, iat: now, exp: now + 300, nonce, ...overrides };
    },
    close: () => close(server),
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = new URL(req.url!, issuer).pathname;
      if (path === '/.well-known/openid-configuration') {
        await sleep(handle.delays.discovery);
        json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          // A hostile provider may advertise what it likes; the client must not follow it to "none" or HS256.
          id_token_signing_alg_values_supported: ['RS256', 'HS256', 'none'],
          code_challenge_methods_supported: ['S256'],
        });
      } else if (path === '/jwks') {
        json(res, 200, { keys: [publicJwk] });
      } else if (path === '/token' && req.method === 'POST') {
        handle.tokenRequests++;
        const body = new URLSearchParams(await readBody(req));
        await sleep(handle.delays.token);
        const idToken = await handle.idToken(body.get('code') ?? '');
        json(res, 200, { access_token: randomBytes(16).toString('base64url'), token_type: 'Bearer', expires_in: 300, id_token: idToken }, { 'cache-control': 'no-store' });
      } else {
        json(res, 404, { error: 'not_found' });
      }
    })().catch(() => res.destroy());
  });
  return handle;
}

export interface FakeGithubUser {
  readonly id: number;
  readonly login: string;
  readonly name: string | null;
  /** The public email of /user (GitHub shows it whether verified or not). */
  readonly email: string | null;
  readonly emails: readonly { email: string; primary: boolean; verified: boolean }[];
}

export interface FakeGithubHandle {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The user the next authorization signs in. */
  user: FakeGithubUser;
  /** An HTTP status every API call answers with instead (e.g. 503: the API is down), or null. */
  apiFailure: number | null;
  /** An HTTP status `/user/emails` answers with instead (403: the token lacks user:email), or null. */
  emailsFailure: number | null;
  /** The callback URL GitHub would send the browser to for `authorizationUrl` (the user approved). */
  authorize(authorizationUrl: string): URL;
  close(): Promise<void>;
}

/**
 * GitHub's OAuth and user API as a node:http server: `authorize` records the code challenge and
 * issues a code; `POST /login/oauth/access_token` checks the client, the code (once), the
 * redirect URI and the PKCE verifier, and like GitHub answers errors with 200 `{"error"}`;
 * `/user` and `/user/emails` need the access token.
 */
export async function startFakeGithub(): Promise<FakeGithubHandle> {
  const server = createServer();
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;
  const codes = new Map<string, { challenge: string; redirectUri: string; user: FakeGithubUser }>();
  const tokens = new Map<string, FakeGithubUser>();
  const handle: FakeGithubHandle = {
    url,
    clientId: 'gh-client',
    clientSecret: 'gh-secret',
    user: { id: 583231, login: 'octocat', name: 'The Octocat', email: null, emails: [{ email: 'octocat@github.example', primary: true, verified: true }] },
    apiFailure: null,
    emailsFailure: null,
    authorize(authorizationUrl) {
      const u = new URL(authorizationUrl);
      if (u.searchParams.get('client_id') !== handle.clientId || u.searchParams.get('code_challenge_method') !== 'S256') throw new Error(`bad authorization request ${u.search}`);
      const code = randomBytes(10).toString('hex');
      const redirectUri = u.searchParams.get('redirect_uri')!;
      codes.set(code, { challenge: u.searchParams.get('code_challenge')!, redirectUri, user: handle.user });
      const back = new URL(redirectUri);
      back.searchParams.set('code', code);
      back.searchParams.set('state', u.searchParams.get('state')!);
      return back;
    },
    close: () => close(server),
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const path = new URL(req.url!, url).pathname;
      if (path === '/login/oauth/access_token' && req.method === 'POST') {
        const body = new URLSearchParams(await readBody(req));
        const grant = codes.get(body.get('code') ?? '');
        codes.delete(body.get('code') ?? '');
        const verifier = body.get('code_verifier') ?? '';
        const ok =
          body.get('client_id') === handle.clientId &&
          body.get('client_secret') === handle.clientSecret &&
          grant !== undefined &&
          grant.redirectUri === body.get('redirect_uri') &&
          createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
        if (!ok || grant === undefined) return json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        const token = `gho_${randomBytes(16).toString('hex')}`;
        tokens.set(token, grant.user);
        return json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
      }
      if (handle.apiFailure !== null) return json(res, handle.apiFailure, { message: 'Service unavailable' });
      const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
      if (user === undefined) return json(res, 401, { message: 'Requires authentication' });
      if (path === '/user') return json(res, 200, { id: user.id, login: user.login, name: user.name, email: user.email });
      if (path === '/user/emails' && handle.emailsFailure !== null) return json(res, handle.emailsFailure, { message: 'Resource not accessible by integration' });
      if (path === '/user/emails') return json(res, 200, user.emails.map((e) => ({ ...e, visibility: null })));
      return json(res, 404, { message: 'Not Found' });
    })().catch(() => res.destroy());
  });
  return handle;
}

/** The refusal `p` rejects with: its code, and the cause (what the log gets) matching `why`. */
export async function refusal(p: Promise<unknown>, code: 'federation_failed' | 'federation_unavailable', why?: RegExp): Promise<GatehouseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a refusal').toBeInstanceOf(GatehouseError);
  const g = err as GatehouseError;
  expect(g.code, (g.cause as Error | undefined)?.message).toBe(code);
  if (why) expect((g.cause as Error).message).toMatch(why);
  if (code === 'federation_unavailable') {
    expect(g.status).toBe(503);
    expect(g.headers?.['retry-after']).toMatch(/^\d+$/);
  } else {
    expect(g.status).toBe(400);
  }
  expect(g.detail).toMatch(/again|another way/);
  return g;
}
