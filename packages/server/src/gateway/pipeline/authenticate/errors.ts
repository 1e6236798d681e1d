import { GatehouseError } from '../../../errors/index.js';

export const REALM = 'Bearer realm="gatehouse"';
const INVALID_TOKEN_CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';

/** No credential on a route that needs one (RFC 6750 §3: a bare challenge). */
export function unauthenticated(): GatehouseError {
  return new GatehouseError('unauthenticated', {
    detail: 'Sign in first: this route needs a session cookie or a bearer token.',
    headers: { 'www-authenticate': REALM },
  });
}

/** A bad, expired or revoked bearer token. */
export function invalidToken(detail = 'The token is invalid, expired or revoked.'): GatehouseError {
  return new GatehouseError('invalid_token', { detail, headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE } });
}

/** A bad, expired or ended session cookie: the answer also clears the cookie. */
export class InvalidSessionCookieError extends GatehouseError {
  constructor() {
    super('invalid_token', {
      detail: 'The session is invalid, expired or signed out; sign in again.',
      headers: { 'www-authenticate': INVALID_TOKEN_CHALLENGE },
    });
    this.name = 'InvalidSessionCookieError';
  }
}
