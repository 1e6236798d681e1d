import { SignJWT, base64url, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { GatehouseError } from '../errors/index.js';
import type { Clock } from '../util/clock.js';
import type { ActiveSigningKey, Keyring } from './keyring-types.js';

/**
 * The one JWT module of the server: every token is signed and verified here, so the library
 * choice stays in this file. Only EdDSA with our own keys, looked up by `kid`.
 */

export type { JWTPayload };

const INVALID = 'The token is invalid or expired';
/** Far above any token we mint; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Header members that would let a token choose its own key or extensions: refused outright. */
const FORBIDDEN_HEADERS = ['crit', 'jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'b64'];

export async function signJwt(claims: JWTPayload, opts: { typ: string; key: ActiveSigningKey }): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: opts.typ, kid: opts.key.kid }).sign(opts.key.privateKey);
}

export interface VerifyJwtOptions {
  /** Exact `typ` header, e.g. `at+jwt` or `passport+jwt`. */
  typ: string;
  issuer: string;
  audience: string;
  keyring: Pick<Keyring, 'publicKey'>;
  clock: Clock;
  /** Clock tolerance for exp/nbf/iat, seconds (default 5). */
  leewaySec?: number;
  /** Claims that must be present, in addition to `exp`, `iss` and `aud`. */
  requiredClaims?: string[];
}

function invalid(cause?: unknown): GatehouseError {
  return new GatehouseError('invalid_token', { detail: INVALID, cause });
}

function decodeHeader(token: string): Record<string, unknown> {
  const dot = token.indexOf('.');
  if (dot <= 0) throw invalid();
  const parsed: unknown = JSON.parse(new TextDecoder().decode(base64url.decode(token.slice(0, dot))));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid();
  return parsed as Record<string, unknown>;
}

/** Verifies a token we signed; any failure is `GatehouseError('invalid_token')` with a generic detail. */
export async function verifyJwt(token: string, opts: VerifyJwtOptions): Promise<JWTPayload> {
  try {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
    const header = decodeHeader(token);
    if (header.alg !== 'EdDSA' || header.typ !== opts.typ || typeof header.kid !== 'string') throw invalid();
    for (const h of FORBIDDEN_HEADERS) if (Object.prototype.hasOwnProperty.call(header, h)) throw invalid();

    const leeway = opts.leewaySec ?? 5;
    const { payload } = await jwtVerify(
      token,
      (protectedHeader: JWTHeaderParameters) => {
        // Only the kid string selects a key, and only among our own keys.
        const kid = protectedHeader.kid;
        const key = typeof kid === 'string' ? opts.keyring.publicKey(kid) : undefined;
        if (!key) throw invalid();
        return key;
      },
      {
        algorithms: ['EdDSA'],
        typ: opts.typ,
        issuer: opts.issuer,
        audience: opts.audience,
        currentDate: new Date(opts.clock.now()),
        clockTolerance: leeway,
        requiredClaims: ['exp', 'iss', 'aud', ...(opts.requiredClaims ?? [])],
        crit: {},
      },
    );
    // jose checks iat only with maxTokenAge; a token issued in the future is not ours.
    if (typeof payload.iat === 'number' && payload.iat > opts.clock.now() / 1000 + leeway) throw invalid();
    return payload;
  } catch (err) {
    if (err instanceof GatehouseError && err.code === 'invalid_token') throw err;
    throw invalid(err);
  }
}
