/** How the user proved who they are at the gateway. */
export type PassportAuth = 'session' | 'access_token' | 'api_token';

/** The claims of a Gatehouse passport (`typ: passport+jwt`), as a verified service sees them. */
export interface PassportClaims {
  iss: string;
  /** The route's service name. */
  aud: string;
  /** User id. */
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  username: string;
  roles: string[];
  /** Space-separated scopes; present only for token credentials. */
  scope?: string;
  /** Session id (never the secret); absent for API tokens. */
  sid?: string;
  /** Device id; absent for API tokens. */
  did?: string;
  auth: PassportAuth;
}

export const PASSPORT_TYP = 'passport+jwt';
export const PASSPORT_HEADER = 'x-passport';
