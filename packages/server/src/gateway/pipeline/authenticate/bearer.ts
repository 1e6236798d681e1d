import { GatehouseError } from '../../../errors/index.js';
import { DUPLICATE } from '../../exchange.js';
import type { RevocationSet } from '../../revocation-set.js';
import { claimsClientCredentials } from '../../../credentials/access-token.js';
import type { AccessTokenVerifier } from './access-token.js';
import { ApiTokenVerifier } from './api-token.js';
import type { ClientTokenVerifier } from './client-token.js';
import { invalidToken } from './errors.js';
import { tokenKey } from './verified-tokens.js';
import type { AuthInput, Authenticator, Identity } from './types.js';

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

const malformed = () => invalidToken('The bearer token is malformed.');

/** "bearer" as char codes. */
const BEARER = [98, 101, 97, 114, 101, 114];

/**
 * Whether the scheme (the `length` characters before the first space, or the whole header) is
 * "Bearer" in any case; the same answer as `scheme.toLowerCase() === 'bearer'` without the two
 * strings that makes (a code differs from its lower-case letter's only in bit 0x20: `c | 0x20`
 * equals `b` only for `B` and `b`).
 */
function isBearerScheme(header: string, length: number): boolean {
  if (length !== 6) return false;
  for (let i = 0; i < 6; i++) if ((header.charCodeAt(i) | 0x20) !== BEARER[i]) return false;
  return true;
}

/**
 * `Authorization: Bearer <token>` only (any case of "Bearer"; never the query string). Other
 * schemes are not this authenticator's business. First in the chain, so when a bearer token
 * and a session cookie both come, the bearer token decides.
 *
 * Dispatch by shape: `gh_…` is an API token, a compact JWS is an access token; anything else
 * (a refresh token `ghr_…`, a session secret, garbage) is `invalid_token`. Each kind refuses the
 * others' shapes, so no token is ever tried as two kinds.
 *
 * A client-credentials token (issue 14 §3) is an access token too (same `typ`, keys, issuer and
 * header), told apart only by its `gty` claim, so it is dispatched here rather than by an
 * authenticator of its own: a separate link of the chain would have to parse the same header
 * and decode the same payload to answer "not mine" for every user token. A token already
 * verified (either kind) is found by Map lookups; a new one is sent by its (unverified) `gty`
 * to the client verifier, which verifies it fully and requires that `gty`, while the user
 * verifier refuses any `gty`: a forged mark only picks a verifier that refuses it. Waits for the revocation set's
 * warm-up after a (re)start, so a recently revoked token is refused from the first request.
 */
export class BearerAuthenticator implements Authenticator {
  readonly name = 'bearer';

  constructor(
    private readonly revocations: RevocationSet,
    private readonly accessTokens: AccessTokenVerifier,
    private readonly apiTokens: ApiTokenVerifier,
    private readonly clientTokens: ClientTokenVerifier,
  ) {}

  authenticate(input: AuthInput): Identity | Promise<Identity> | null {
    const header = input.authorization;
    if (header === undefined) return null;
    if (header === DUPLICATE) throw new GatehouseError('invalid_request', { detail: 'Send one Authorization header.' });
    const space = header.indexOf(' ');
    if (!isBearerScheme(header, space < 0 ? header.length : space)) return null;
    if (space < 0) throw malformed();
    const token = header.slice(space + 1).trim();
    const warming = this.revocations.whenReady();
    const connection = input.req?.socket;
    if (warming !== null) {
      if (!TOKEN68.test(token)) throw malformed();
      return warming.then(() => this.dispatch(token, connection));
    }
    return this.dispatch(token, connection);
  }

  private dispatch(token: string, connection: object | null | undefined): Identity | Promise<Identity> {
    if (ApiTokenVerifier.owns(token)) {
      if (!TOKEN68.test(token)) throw malformed();
      return this.apiTokens.verify(token, connection);
    }
    // A token verified before, of either kind: one lookup each and no shape scan (a string equal
    // to a verified token is well-formed). The user's kind first: one lookup more for a client.
    const key = tokenKey(token);
    const known = this.accessTokens.verifyKnown(token, key) ?? this.clientTokens.verifyKnown(token, key);
    if (known !== undefined) return known;
    if (!TOKEN68.test(token)) throw malformed();
    if (claimsClientCredentials(token)) return this.clientTokens.verify(token);
    // Refresh tokens, session secrets and garbage fail the JWS shape check inside.
    return this.accessTokens.verify(token);
  }
}
