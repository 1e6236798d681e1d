import { DUPLICATE } from '../../exchange.js';
import { GatehouseError } from '../../../errors/index.js';
import { invalidToken } from './errors.js';
import type { AuthInput, Authenticator, Identity } from './types.js';

/** Verifies a bearer token (access token or API token); comes with the token issue. */
export type BearerVerifier = (token: string) => Identity | Promise<Identity>;

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * `Authorization: Bearer <token>` only (any case of "Bearer"; never the query string). Other
 * schemes are not this authenticator's business. First in the chain, so when a bearer token
 * and a session cookie both come, the bearer token decides.
 */
export class BearerAuthenticator implements Authenticator {
  readonly name = 'bearer';

  constructor(private readonly verify: BearerVerifier | undefined = undefined) {}

  authenticate(input: AuthInput): Identity | Promise<Identity> | null {
    const header = input.authorization;
    if (header === undefined) return null;
    if (header === DUPLICATE) throw new GatehouseError('invalid_request', { detail: 'Send one Authorization header.' });
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header : header.slice(0, space);
    if (scheme.toLowerCase() !== 'bearer') return null;
    const token = header.slice(space + 1).trim();
    if (space < 0 || !TOKEN68.test(token)) throw invalidToken('The bearer token is malformed.');
    // No token kinds exist yet: every bearer token is refused, but it still decides.
    if (!this.verify) throw invalidToken();
    return this.verify(token);
  }
}
