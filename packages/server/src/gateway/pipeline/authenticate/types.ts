import type { PassportAuth } from '@gatehouse/sdk';

/** The user entity as the gateway knows it for one credential. */
export interface IdentityUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** Who a request is, after authentication. */
export interface Identity {
  readonly auth: PassportAuth;
  readonly user: IdentityUser;
  readonly sid: string | undefined;
  readonly did: string | undefined;
  /** Scopes of a token credential; undefined for a cookie session (which has every scope). */
  readonly scopes: ReadonlySet<string> | undefined;
  /** The session's synchronizer token; only for cookie sessions (CSRF check). */
  readonly csrfToken: string | undefined;
  /** Passport cache key of this credential (the sid, or a token id). */
  readonly cacheKey: string;
  /**
   * Changes whenever a claim of the passport would change (username, roles, scopes), so a
   * cached passport minted from older data is not reused.
   */
  readonly stamp: string;
}

/** What the authenticators read; filled by the strip stage. */
export interface AuthInput {
  readonly authorization: string | undefined;
  readonly sessionCookie: string | undefined;
}

/**
 * One link of the chain (Oathkeeper `pipeline/authn` style): `null` = not mine, pass on;
 * an Identity = decided; a thrown GatehouseError = decided against (401/503).
 */
export interface Authenticator {
  readonly name: string;
  authenticate(input: AuthInput): Identity | null | Promise<Identity | null>;
}
