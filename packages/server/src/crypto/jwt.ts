import { KeyObject, sign } from 'node:crypto';
import { inspectProtectedHeader } from '@gatehouse/sdk';
import { jwtVerify, type CryptoKey, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { GatehouseError } from '../errors/index.js';
import type { Clock } from '../util/clock.js';
import type { ActiveSigningKey, Keyring } from './keyring-types.js';

/**
 * The one JWT module of the server: every token is signed and verified here, so the library
 * choice stays in this file. Only EdDSA with our own keys, looked up by `kid`. Keys are imported
 * and published with jose (crypto/keyring.ts); signing is node:crypto's Ed25519 on the key's
 * KeyObject, producing exactly the compact JWS jose's SignJWT makes (jwt-sign-parity.test.ts holds them equal).
 */

export type { JWTPayload };

const INVALID = 'The token is invalid or expired';
/** Far above any token we mint; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * The signing key for `kid`: the CryptoKey jose imported and its node:crypto KeyObject (the same
 * key material, no copy made by hand). Throws unless it is an Ed25519 private key, the only kind
 * `alg: EdDSA` may sign with here (Ed448 is EdDSA too, and must not slip in under it).
 */
export function activeSigningKey(kid: string, privateKey: CryptoKey): ActiveSigningKey {
  const keyObject = KeyObject.from(privateKey as Parameters<typeof KeyObject.from>[0]);
  if (keyObject.type !== 'private' || keyObject.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${kid} is not an Ed25519 private key`);
  return { kid, alg: 'EdDSA', privateKey, keyObject };
}

const b64url = (json: string): string => Buffer.from(json, 'utf8').toString('base64url');

/**
 * Signs `claims` as a compact JWS (RFC 7515 §7.1: BASE64URL(header).BASE64URL(payload).BASE64URL(sig))
 * with the protected header {alg: EdDSA, typ, kid}, as jose's SignJWT does (its header and claims
 * serialised by JSON.stringify in that order, its finite-number check of iat, nbf and exp), but
 * synchronously: node:crypto's one-shot Ed25519 `sign(null, …)` on the key's KeyObject, on this
 * thread, where webcrypto (jose) queues a job to libuv's pool and resolves a promise (~130 µs of
 * CPU a token against ~32 here). Ed25519 is deterministic: the same key and claims give the same token.
 */
export function signJwt(claims: JWTPayload, opts: { typ: string; key: ActiveSigningKey }): string {
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const v = claims[name];
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`"${name}" claim must be a finite number`);
  }
  const input = `${b64url(JSON.stringify({ alg: 'EdDSA', typ: opts.typ, kid: opts.key.kid }))}.${b64url(JSON.stringify(claims))}`;
  // The signing input is ASCII (two base64url strings and a dot): latin1 is its bytes.
  return `${input}.${sign(null, Buffer.from(input, 'latin1'), opts.key.keyObject).toString('base64url')}`;
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
