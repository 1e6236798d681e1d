import * as oidc from 'openid-client';
import type { FederationProviderConfig } from '../../../config/types.js';
import type { ExternalIdentity, FederationProvider, ProviderTransaction } from '../identity.js';
import { federationError, federationFailed } from './provider-errors.js';

/**
 * Any OpenID Connect provider (Google, Microsoft, Okta, Keycloak, ...), through openid-client
 * (certified; its checks are oauth4webapi's):
 * - discovery of `<issuer>/.well-known/openid-configuration` (its `issuer` must equal the
 *   configured one), done once and kept; a failed discovery is forgotten, so the next sign-in
 *   tries again (a provider down at start does not need a restart);
 * - the authorization code flow with PKCE S256, `state` and `nonce`;
 * - at the callback: `state`; RFC 9207 `iss` (refused when it is not this provider's, and when
 *   missing from a provider that advertises `authorization_response_iss_parameter_supported`:
 *   the mix-up defence); the code redeemed with the PKCE verifier; the ID token's signature
 *   (always, against the provider's JWKS: `enableNonRepudiationChecks`; `none` and HS* are
 *   refused), `iss`,
 *   `aud`, `azp`, `exp`/`iat`, `nonce`;
 * - the user info endpoint only when the ID token carries no email.
 * Every call has `federation.timeoutMs`.
 */

export interface OidcProviderOptions {
  readonly config: FederationProviderConfig;
  /** The client secret (from the config file or the environment variable it names). */
  readonly clientSecret: string;
  readonly timeoutMs: number;
}

export class OidcProvider implements FederationProvider {
  readonly type = 'oidc' as const;
  readonly id: string;
  readonly name: string;
  private discovered: Promise<oidc.Configuration> | undefined;

  constructor(private readonly options: OidcProviderOptions) {
    if (options.config.type !== 'oidc' || options.config.issuer === undefined) throw new Error(`provider ${options.config.id} is not an OIDC provider`);
    this.id = options.config.id;
    this.name = options.config.name;
  }

  /** The provider's discovered configuration: fetched on first use, kept once it succeeded, fetched again after a failure. */
  configuration(): Promise<oidc.Configuration> {
    if (this.discovered === undefined) {
      const { config, clientSecret, timeoutMs } = this.options;
      const issuer = new URL(config.issuer!);
      const attempt = oidc.discovery(issuer, config.clientId, undefined, oidc.ClientSecretBasic(clientSecret), {
        timeout: timeoutMs / 1000,
        execute: [
          // oauth4webapi alone does not verify the signature of an ID token from the token
          // endpoint (OIDC Core 3.1.3.7 lets TLS stand in) and takes any `alg` the provider's
          // metadata lists, "none" included. This verifies it against the provider's JWKS:
          // "none" finds no key, HS* is refused outright (no HMAC with a public key).
          oidc.enableNonRepudiationChecks,
          // http is accepted only for loopback issuers (config refuses any other): development and tests.
          ...(issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : []),
        ],
      });
      this.discovered = attempt;
      attempt.catch(() => {
        if (this.discovered === attempt) this.discovered = undefined;
      });
    }
    return this.discovered.catch((err: unknown) => {
      throw federationError(err, this.name, 'discovery');
    });
  }

  async start(input: { readonly redirectUri: string }): Promise<{ readonly url: string; readonly transaction: ProviderTransaction }> {
    const configuration = await this.configuration();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: input.redirectUri,
      scope: this.options.config.scopes.join(' '),
      state,
      nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
    return { url: url.href, transaction: { state, nonce, codeVerifier } };
  }

  async finish(input: { readonly callbackUrl: URL; readonly redirectUri: string; readonly transaction: ProviderTransaction }): Promise<ExternalIdentity> {
    const { transaction } = input;
    if (transaction.nonce === undefined) throw federationFailed(this.name, 'callback: the transaction has no nonce');
    const configuration = await this.configuration();
    // The callback's parameters on the registered redirect URI: the token request's
    // `redirect_uri` must be the one the authorization request named, whatever URL the request
    // reached this instance by (proxies).
    const current = new URL(input.redirectUri);
    current.search = input.callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, current, {
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        pkceCodeVerifier: transaction.codeVerifier,
        idTokenExpected: true,
      });
    } catch (err) {
      throw federationError(err, this.name, 'token');
    }
    const claims = tokens.claims();
    if (claims === undefined) throw federationFailed(this.name, 'token: no ID token');
    // OIDC Core 3.1.3.7 (11): an `azp` present must be this client. oauth4webapi checks it only with several audiences.
    if (claims.azp !== undefined && claims.azp !== this.options.config.clientId) throw federationFailed(this.name, 'token: the ID token\'s azp is another client');
    let email = typeof claims.email === 'string' ? claims.email : null;
    let emailVerified = email !== null && claims.email_verified === true;
    let preferredUsername = typeof claims.preferred_username === 'string' ? claims.preferred_username : null;
    let displayName = typeof claims.name === 'string' ? claims.name : null;
    if (email === null && configuration.serverMetadata().userinfo_endpoint !== undefined && this.options.config.scopes.includes('email')) {
      // Some providers put the email only in the user info (its `sub` must be the ID token's: checked by openid-client).
      let info: oidc.UserInfoResponse;
      try {
        info = await oidc.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      } catch (err) {
        throw federationError(err, this.name, 'userinfo');
      }
      email = typeof info.email === 'string' ? info.email : null;
      emailVerified = email !== null && info.email_verified === true;
      preferredUsername ??= typeof info.preferred_username === 'string' ? info.preferred_username : null;
      displayName ??= typeof info.name === 'string' ? info.name : null;
    }
    return { provider: this.id, subject: claims.sub, email, emailVerified, preferredUsername, displayName };
  }
}
