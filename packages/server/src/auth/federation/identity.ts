/**
 * Federation (issue 15): signing in through external identity providers (OpenID Connect, GitHub).
 * This file is the seam between the two halves, each in its own files beside it:
 * - the provider half (`providers/`): talks to the provider (openid-client for OIDC, GitHub's
 *   OAuth 2.0 + user API), keeps the transaction (state, nonce, PKCE verifier) and returns a
 *   verified `ExternalIdentity`, or refuses;
 * - the account half (`accounts.ts`, the identities store): turns an `ExternalIdentity` into a
 *   Gatehouse user (existing link, new user, or an explicit link by a signed-in user), by the
 *   provider's `allowSignup` / `linkByVerifiedEmail` rules.
 */

/** A user at a provider, as the provider vouched for it in one completed sign-in. */
export interface ExternalIdentity {
  /** The configured provider's id (`federation.providers[].id`). */
  readonly provider: string;
  /** The provider's stable id of the user (OIDC `sub`; GitHub's numeric user id as a string). Never the email. */
  readonly subject: string;
  /** The email the provider gave, if any (lower-cased domain not guaranteed: compare canonically). */
  readonly email: string | null;
  /** Whether the provider says it verified that email (OIDC `email_verified === true`; GitHub: a primary, verified address). */
  readonly emailVerified: boolean;
  /** A username suggestion (OIDC `preferred_username`; GitHub `login`), else null. */
  readonly preferredUsername: string | null;
  /** A display name, if any. */
  readonly displayName: string | null;
}

/** What a started sign-in must keep until its callback (sealed in a cookie or stored), per provider. */
export interface ProviderTransaction {
  readonly state: string;
  /** OIDC only. */
  readonly nonce?: string;
  readonly codeVerifier: string;
}

/** One configured provider, ready to use (built once at start from `federation.providers[]`). */
export interface FederationProvider {
  readonly id: string;
  readonly type: 'oidc' | 'github';
  /** Shown on the buttons: "Continue with <name>". */
  readonly name: string;
  /** The URL to send the browser to, and what to keep for the callback. `redirectUri` is this provider's callback URL. */
  start(input: { readonly redirectUri: string }): Promise<{ readonly url: string; readonly transaction: ProviderTransaction }>;
  /**
   * Completes the callback: checks state (and RFC 9207 `iss` when sent), redeems the code with
   * PKCE, verifies the ID token (OIDC: signature, iss, aud, azp, exp, nonce) or reads the user
   * API (GitHub), and returns who the user is. Throws a GatehouseError for every refusal; never
   * hangs (every call to the provider has a timeout).
   */
  finish(input: { readonly callbackUrl: URL; readonly redirectUri: string; readonly transaction: ProviderTransaction }): Promise<ExternalIdentity>;
}
