/** How the caller proved who it is at the gateway: a user's credential, or a service's own (`client`). */
export type PassportAuth = 'session' | 'access_token' | 'api_token' | 'client';

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
}

/** The claims of a Gatehouse passport (`typ: passport+jwt`), as a verified service sees them. */
export type PassportClaims = UserPassportClaims | ClientPassportClaims;

/** Whether a passport speaks for a service client rather than a user. */
export function isClientPassport(claims: PassportClaims): claims is ClientPassportClaims {
  return claims.auth === 'client';
}

export const PASSPORT_TYP = 'passport+jwt';
export const PASSPORT_HEADER = 'x-passport';
