import { GatehouseError } from '../../../errors/index.js';

/**
 * Which `WWW-Authenticate` challenge a credential refusal calls for (RFC 6750 §3): `bare` when
 * no credential came, `invalid_token` when one came and failed. The respond stage writes the
 * header (respond/refusals.ts); the refusal only says which.
 */
export type Challenge = 'bare' | 'invalid_token';

/** A 401 of the authenticate stage: the respond stage answers it with its challenge, or the sign-in redirect for a page. */
export class CredentialRefusal extends GatehouseError {
  constructor(
    code: 'unauthenticated' | 'invalid_token',
    detail: string,
    readonly challenge: Challenge,
  ) {
    super(code, { detail });
    this.name = 'CredentialRefusal';
  }
}

/** No credential on a route that needs one (a bare challenge). */
export function unauthenticated(): GatehouseError {
  return new CredentialRefusal('unauthenticated', 'Sign in first: this route needs a session cookie or a bearer token.', 'bare');
}

/** A bad, expired or revoked bearer token. */
export function invalidToken(detail = 'The token is invalid, expired or revoked.'): GatehouseError {
  return new CredentialRefusal('invalid_token', detail, 'invalid_token');
}

/** A bad, expired or ended session cookie: the answer also clears the cookie. */
export class InvalidSessionCookieError extends CredentialRefusal {
  constructor() {
    super('invalid_token', 'The session is invalid, expired or signed out; sign in again.', 'invalid_token');
    this.name = 'InvalidSessionCookieError';
  }
}
