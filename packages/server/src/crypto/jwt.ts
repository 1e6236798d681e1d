import { inspectProtectedHeader } from '@gatehouse/sdk';
import { SignJWT, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose';
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

/** Verifies a token we signed; any failure is `GatehouseError('invalid_token')` with a generic detail. */
export async function verifyJwt(token: string, opts: VerifyJwtOptions): Promise<JWTPayload> {
  try {
    // The SDK's header hardening, shared with every passport verifier: before any key lookup.
    const checked = inspectProtectedHeader(token, { typ: opts.typ, maxLength: MAX_TOKEN_LENGTH });
    if (!checked.ok) throw invalid(checked.cause);

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
