import * as oidc from 'openid-client';
import type { FederationProviderConfig } from '../../../config/types.js';
import type { ExternalIdentity, FederationProvider, ProviderTransaction } from '../identity.js';
import { federationError, federationFailed } from './provider-errors.js';

/**
 * GitHub: OAuth 2.0 (no OpenID Connect, no ID token) plus its REST user API, behind the same
 * interface. The OAuth part runs through openid-client with GitHub's endpoints given by hand
 * (no discovery): authorization code with PKCE S256 and `state`, checked by the library; the
 * token answer must carry a bearer access token (GitHub answers errors with 200 and
 * `{"error"}`: refused). Then `GET /user` (subject: the numeric `id`, as a string; `login`;
 * `name`) and `GET /user/emails` (the primary address, verified or not). Every call has
 * `federation.timeoutMs`.
 */

export interface GithubProviderOptions {
  readonly config: FederationProviderConfig;
  readonly clientSecret: string;
  readonly timeoutMs: number;
}

/** GitHub's REST API version these reads follow. */
const GITHUB_API_VERSION = '2022-11-28';

interface GithubUser {
  id?: unknown;
  login?: unknown;
  name?: unknown;
  email?: unknown;
}
interface GithubEmail {
  email?: unknown;
  primary?: unknown;
  verified?: unknown;
}

export class GithubProvider implements FederationProvider {
  readonly type = 'github' as const;
  readonly id: string;
  readonly name: string;
  private readonly configuration: oidc.Configuration;
  private readonly apiUrl: string;

  constructor(private readonly options: GithubProviderOptions) {
    const { config, clientSecret, timeoutMs } = options;
    if (config.type !== 'github' || !config.authorizationUrl || !config.tokenUrl || !config.apiUrl) throw new Error(`provider ${config.id} is not a GitHub provider`);
    this.id = config.id;
    this.name = config.name;
    this.apiUrl = config.apiUrl.replace(/\/+$/, '');
    const authorizationUrl = new URL(config.authorizationUrl);
    this.configuration = new oidc.Configuration(
      // GitHub has no issuer identifier; its authorization server's origin stands in (it sends no `iss` back).
      { issuer: authorizationUrl.origin, authorization_endpoint: config.authorizationUrl, token_endpoint: config.tokenUrl },
      config.clientId,
      undefined,
      oidc.ClientSecretPost(clientSecret),
    );
    this.configuration.timeout = timeoutMs / 1000;
    // http only for loopback URLs (config refuses any other): a local stand-in for GitHub in tests.
    if ([config.authorizationUrl, config.tokenUrl, config.apiUrl].some((u) => u.startsWith('http:'))) oidc.allowInsecureRequests(this.configuration);
  }

  async start(input: { readonly redirectUri: string }): Promise<{ readonly url: string; readonly transaction: ProviderTransaction }> {
    const state = oidc.randomState();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    const url = oidc.buildAuthorizationUrl(this.configuration, {
      redirect_uri: input.redirectUri,
      scope: this.options.config.scopes.join(' '),
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
    return { url: url.href, transaction: { state, codeVerifier } };
  }

  async finish(input: { readonly callbackUrl: URL; readonly redirectUri: string; readonly transaction: ProviderTransaction }): Promise<ExternalIdentity> {
    const current = new URL(input.redirectUri);
    current.search = input.callbackUrl.search;
    let accessToken: string;
    try {
      const tokens = await oidc.authorizationCodeGrant(this.configuration, current, {
        expectedState: input.transaction.state,
        pkceCodeVerifier: input.transaction.codeVerifier,
      });
      accessToken = tokens.access_token;
    } catch (err) {
      throw federationError(err, this.name, 'token');
    }
    const user = await this.api<GithubUser>(accessToken, '/user');
    if (user === null || typeof user.id !== 'number' || !Number.isSafeInteger(user.id)) throw federationFailed(this.name, 'user api: /user has no numeric id');
    // Without the user:email scope (or a GitHub App without the email permission) the list is 403/404: no verified address then.
    const emails = await this.api<GithubEmail[]>(accessToken, '/user/emails', [403, 404]);
    const primary = Array.isArray(emails) ? emails.find((e) => e.primary === true && typeof e.email === 'string') : undefined;
    const email = primary ? (primary.email as string) : typeof user.email === 'string' ? user.email : null;
    return {
      provider: this.id,
      subject: String(user.id),
      email,
      // Only the primary address's own flag counts; the public `email` of /user says nothing about verification.
      emailVerified: primary !== undefined && primary.verified === true,
      preferredUsername: typeof user.login === 'string' ? user.login : null,
      displayName: typeof user.name === 'string' ? user.name : null,
    };
  }

  /** GET `path` of the API as the user, within the timeout; JSON, null for a status of `absentOn`, or a refusal. */
  private async api<T>(accessToken: string, path: string, absentOn: readonly number[] = []): Promise<T | null> {
    try {
      const headers = new Headers({ accept: 'application/vnd.github+json', 'x-github-api-version': GITHUB_API_VERSION, 'user-agent': 'gatehouse' });
      const response = await oidc.fetchProtectedResource(this.configuration, accessToken, new URL(`${this.apiUrl}${path}`), 'GET', undefined, headers);
      if (absentOn.includes(response.status)) return null;
      if (!response.ok) {
        throw response.status >= 500
          ? Object.assign(new Error(`${path} answered ${response.status}`), { status: response.status })
          : federationFailed(this.name, `user api: ${path} answered ${response.status}`);
      }
      return (await response.json()) as T;
    } catch (err) {
      throw federationError(err, this.name, 'user api');
    }
  }
}
