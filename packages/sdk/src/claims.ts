/** How the user proved who they are at the gateway. */
export type PassportAuth = 'session' | 'access_token' | 'api_token';

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
  /** Who acts on the user's behalf (token exchange, RFC 8693): the calling service, with the chain before it nested. */
  act?: PassportActor;
  /**
   * Set by the verifier (never a claim of its own): the client ids of `act`, nearest first
   * (`["svc-b", "svc-a"]`: B calls on behalf of A, which the user called). Present exactly when `act` is.
   */
  actors?: readonly string[];
}

export const PASSPORT_TYP = 'passport+jwt';
export const PASSPORT_HEADER = 'x-passport';
