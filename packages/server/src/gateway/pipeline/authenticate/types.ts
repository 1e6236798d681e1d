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
  /** The OAuth client a client-credentials token speaks for (`auth: "client"`); undefined for a user's credential. */
  readonly clientId?: string | undefined;
  /**
   * How the user proved who they are (RFC 8176 names), from the session (a cookie) or the access
   * token; undefined for API tokens and service clients, which record no sign-in.
   */
  readonly amr?: readonly string[] | undefined;
  /** When the user last authenticated (epoch seconds); undefined where `amr` is. */
  readonly authTime?: number | undefined;
  /** The session's synchronizer token; only for cookie sessions (CSRF check). */
  readonly csrfToken: string | undefined;
  /** Passport cache key of this credential (the sid, or a token id). */
  readonly cacheKey: string;
  /**
   * Changes whenever a claim of the passport would change (username, roles, scopes, amr, auth_time), so a
   * cached passport minted from older data is not reused.
   */
  readonly stamp: string;
}

/** What the authenticators read; filled by the strip stage. */
export interface AuthInput {
  readonly authorization: string | undefined;
  readonly sessionCookie: string | undefined;
  /** The request, for its connection (connection-hash.ts); absent where there is none. */
  readonly req?: { readonly socket: object | null };
}

/**
 * One link of the chain (Oathkeeper `pipeline/authn` style): `null` = not mine, pass on;
 * an Identity = decided; a thrown GatehouseError = decided against (401/503).
 */
export interface Authenticator {
  readonly name: string;
  authenticate(input: AuthInput): Identity | null | Promise<Identity | null>;
}

/** Why a decision was taken in a degraded mode (DESIGN §4), for `gatehouse_degraded_decisions_total{reason}`. */
export type DegradedReason =
  /** Store away: a session served from the gateway's own memory. */
  | 'session_from_memory'
  /** Store away: a session served from the shared hot copy (Redis). */
  | 'session_from_hot_copy'
  /** Store away and no hot copy: 503. */
  | 'session_unavailable'
  /** Store away: an API token served from memory or the shared hot copy. */
  | 'api_token_from_hot_copy'
  /** Store away and no hot copy of the API token: 503. */
  | 'api_token_unavailable'
  /** The auth service did not answer: 503 on /auth/*. */
  | 'auth_service_unavailable'
  /** User store away: an access token's passport carries the roles last read (current-user.ts). */
  | 'access_token_user_from_memory'
  /** User store away and the user never read: an access token's passport carries the token's own roles. */
  | 'access_token_user_from_token'
  /** Client store away: a client token checked against the clients last read (or its own word). */
  | 'client_token_from_memory';

export type DegradedReporter = (reason: DegradedReason) => void;

/**
 * How many credentials the store answered "unknown" for each authenticator remembers (by hash),
 * so a client that keeps sending an ended, deleted or made-up cookie or API token costs one
 * store read, not one per request. Safe for as long as memory allows: secrets are made by the
 * auth service and only then handed out, so a hash the store did not know can never become
 * valid later.
 */
export const UNKNOWN_CREDENTIALS_MAX = 10_000;
