import { jwtVerify } from 'jose';
import type { JSONWebKeySet } from 'jose';
import { PASSPORT_TYP } from './claims.js';
import type { PassportClaims } from './claims.js';
import { toPassportClaims } from './claims-check.js';
import { PassportError } from './errors.js';
import { passportErrorFrom } from './jose-errors.js';
import { createKeySource } from './key-source.js';
import { checkProtectedHeader } from './protected-header.js';
import { VerifiedCache } from './verified-cache.js';

export interface PassportVerifierOptions {
  /** URL of the gateway's JWKS (`/.well-known/jwks.json`). Exactly one of `jwksUrl` and `jwks`. */
  jwksUrl?: string | URL;
  /** In-process key source (e.g. the auth service's own keyring). Exactly one of `jwksUrl` and `jwks`. */
  jwks?: () => JSONWebKeySet | Promise<JSONWebKeySet>;
  /** Expected `iss`: the gateway's issuer. */
  issuer: string;
  /** Expected `aud`: this service's name. */
  audience: string;
  /** Leeway for `exp`/`iat`/`nbf`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Oldest accepted passport, by `iat`, in seconds. Default 120. */
  maxTokenAgeSec?: number;
  /** How many verified passports to remember. Default 10 000; 0 disables the cache. */
  cacheMax?: number;
  /** Least time between two key-set reloads caused by an unknown `kid`, in ms. Default 30 000. */
  jwksCooldownMs?: number;
  /** Reload the key set when it is older than this, in ms. Default 600 000. */
  jwksCacheMaxAgeMs?: number;
  /** Clock in ms since the epoch (for tests with a frozen clock). Default `Date.now`. */
  now?: () => number;
}

export interface PassportVerifier {
  /** Resolves with the verified claims, or rejects with a `PassportError` whose `code` names the cause. */
  verify(token: string): Promise<PassportClaims>;
}

const REQUIRED_CLAIMS = ['sub', 'iat', 'exp', 'jti', 'auth'];

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a non-negative number`);
  return v;
}

export function createPassportVerifier(options: PassportVerifierOptions): PassportVerifier {
  const { issuer, audience } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer is required');
  if (typeof audience !== 'string' || audience === '') throw new TypeError('audience is required');
  const now = options.now ?? Date.now;
  const clockTolerance = nonNegative(options.clockToleranceSec, 5, 'clockToleranceSec');
  const maxTokenAge = nonNegative(options.maxTokenAgeSec, 120, 'maxTokenAgeSec');
  const cache = new VerifiedCache<PassportClaims>(nonNegative(options.cacheMax, 10_000, 'cacheMax'));
  const getKey = createKeySource({
    jwksUrl: options.jwksUrl,
    jwks: options.jwks,
    cooldownMs: nonNegative(options.jwksCooldownMs, 30_000, 'jwksCooldownMs'),
    cacheMaxAgeMs: nonNegative(options.jwksCacheMaxAgeMs, 600_000, 'jwksCacheMaxAgeMs'),
    now,
  });
  /** Verifications under way, so a burst of requests with one new passport verifies it once. */
  const inFlight = new Map<string, Promise<PassportClaims>>();

  async function verifyUncached(token: string): Promise<PassportClaims> {
    let claims: PassportClaims;
    try {
      checkProtectedHeader(token);
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: ['EdDSA'],
        typ: PASSPORT_TYP,
        issuer,
        audience,
        requiredClaims: REQUIRED_CLAIMS,
        maxTokenAge,
        clockTolerance,
        currentDate: new Date(now()),
      });
      claims = toPassportClaims(payload);
    } catch (err) {
      throw passportErrorFrom(err);
    }
    // Good until it expires or grows too old, whichever comes first; no leeway on the cached path.
    const expiresAtMs = Math.min(claims.exp, claims.iat + maxTokenAge) * 1000;
    cache.set(token, claims, expiresAtMs, now());
    return claims;
  }

  return {
    verify(token: string): Promise<PassportClaims> {
      if (typeof token !== 'string' || token === '') {
        return Promise.reject(new PassportError('passport_malformed', 'the passport is not a non-empty string'));
      }
      const hit = cache.get(token, now());
      if (hit !== undefined) return Promise.resolve(hit);
      let pending = inFlight.get(token);
      if (pending === undefined) {
        pending = verifyUncached(token).finally(() => inFlight.delete(token));
        inFlight.set(token, pending);
      }
      return pending;
    },
  };
}
