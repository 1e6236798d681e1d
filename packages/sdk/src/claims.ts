/** How the caller proved who it is at the gateway: a user's credential, or a service's own (`client`). */
export type PassportAuth = 'session' | 'access_token' | 'api_token' | 'client';

/**
 * RFC 8693 §4.1 `act`: the service acting on the user's behalf (`sub`: its client id) and, nested,
 * the one that acted before it. A passport minted by token exchange carries it; one the gateway
 * minted for a request does not.
 */
export interface PassportActor {
  sub: string;
  act?: PassportActor;
}

/** Most actors a chain may hold (`act` nesting depth); a deeper one is refused as malformed. */
export const MAX_ACTOR_DEPTH = 8;

/** The credential kinds of a user (every kind but `client`). */
export type UserPassportAuth = Exclude<PassportAuth, 'client'>;

/** Claims every passport carries, whoever it speaks for. */
interface PassportClaimsBase {
  iss: string;
  /** The route's service name. */
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** Space-separated scopes; present only for token credentials. */
  scope?: string;
  /** Who acts on the user's behalf (token exchange, RFC 8693): the calling service, with the chain before it nested. */
  act?: PassportActor;
  /**
   * Set by the verifier (never a claim of its own): the client ids of `act`, nearest first
   * (`["svc-b", "svc-a"]`: B calls on behalf of A, which the user called). Present exactly when `act` is.
   */
  actors?: readonly string[];
}

/** A passport of a user (a browser session, an access token, an API token). */
export interface UserPassportClaims extends PassportClaimsBase {
  /** User id. */
  sub: string;
  username: string;
  roles: string[];
  /** Session id (never the secret); absent for API tokens. */
  sid?: string;
  /** Device id; absent for API tokens. */
  did?: string;
  auth: UserPassportAuth;
  client_id?: undefined;
  /**
   * How the user proved who they are on this session (RFC 8176 method names): `["pwd"]` a
   * password; `["pwd","otp","mfa"]` a password and a one-time code (or a recovery code);
   * `["pwd","hwk","mfa"]` a password and a passkey; `["hwk","user","mfa"]` a passkey alone with
   * user verification; `["ext"]` an external identity provider. Absent for API tokens (no sign-in).
   * `requireAuthentication` checks it.
   */
  amr?: readonly string[];
  /** When the user last authenticated (epoch seconds, as OIDC's `auth_time`): the sign-in or a later re-authentication. Absent where `amr` is. */
  auth_time?: number;
}

/**
 * A passport of a service calling as itself (a client-credentials token, issue 14 §3): `sub` and
 * `client_id` are the client's id; there is no user, so no `username`, no session or device, and
 * `roles` is empty. Tell it from a user's with `claims.auth === 'client'` (or `isClientPassport`).
 */
export interface ClientPassportClaims extends PassportClaimsBase {
  /** The client id. */
  sub: string;
  client_id: string;
  roles: string[];
  auth: 'client';
  username?: undefined;
  sid?: undefined;
  did?: undefined;
  amr?: undefined;
  auth_time?: undefined;
}

/** The claims of a Gatehouse passport (`typ: passport+jwt`), as a verified service sees them. */
export type PassportClaims = UserPassportClaims | ClientPassportClaims;

/** Whether a passport speaks for a service client rather than a user. */
export function isClientPassport(claims: PassportClaims): claims is ClientPassportClaims {
  return claims.auth === 'client';
}

export const PASSPORT_TYP = 'passport+jwt';
export const PASSPORT_HEADER = 'x-passport';
