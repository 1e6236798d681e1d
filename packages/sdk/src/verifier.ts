import { verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { CompactJWSHeaderParameters, JSONWebKeySet } from 'jose';
import type { PassportClaims } from './claims.js';
import { checkRegisteredClaims, toPassportClaims } from './claims-check.js';
import type { RegisteredClaimRules } from './claims-check.js';
import { PassportError, refusal } from './errors.js';
import { passportErrorFrom } from './jose-errors.js';
import { createKeySource } from './key-source.js';
import { decodeSegment, parseJsonObject, passportHeaderCheck } from './protected-header.js';
import type { CheckedProtectedHeader } from './protected-header.js';
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

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name} must be a non-negative number`);
  return v;
}

/** A compact JWS whose header passed `checkPassportHeader`, with where its two dots are. */
interface SplitPassport {
  header: CheckedProtectedHeader;
  firstDot: number;
  secondDot: number;
}

/** jose's `epoch(new Date(ms))`: whole seconds; a time a Date cannot hold is refused as jose refused it. */
function epochSec(ms: number): number {
  const t = Math.trunc(ms);
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) throw new TypeError('Invalid currentDate option input');
  return Math.floor(t / 1000);
}

/**
 * Everything jose's `jwtVerify` did for a passport whose header passed `checkPassportHeader`, once
 * its key is known, synchronously and in jose's order (so a token with several faults is named by
 * the same one): the signature (base64url as jose decodes it; an Ed25519 verify of the signing
 * input with node:crypto and the KeyObject of the CryptoKey jose imported), the payload (strict
 * base64url, UTF-8, a JSON object), the registered claims, then the passport's own shape.
 * Throws a `PassportError`.
 */
function verifyWithKey(token: string, split: SplitPassport, key: KeyObject, rules: RegisteredClaimRules, nowMs: number): PassportClaims {
  const { firstDot, secondDot } = split;
  let signature: Buffer;
  try {
    signature = decodeSegment(token.slice(secondDot + 1));
  } catch (err) {
    throw refusal('passport_malformed', err);
  }
  // The signing input is ASCII (COMPACT_JWS): latin1 is its bytes.
  const signingInput = Buffer.from(token.slice(0, secondDot), 'latin1');
  let valid = false;
  try {
    valid = verifySignature(null, signingInput, key, signature);
  } catch (err) {
    throw refusal('signature_invalid', err);
  }
  if (!valid) throw refusal('signature_invalid');
  let payload: Record<string, unknown> | undefined;
  try {
    payload = parseJsonObject(decodeSegment(token.slice(firstDot + 1, secondDot)));
  } catch (err) {
    throw refusal('passport_malformed', err);
  }
  if (payload === undefined) throw refusal('passport_malformed');
  checkRegisteredClaims(payload, rules, epochSec(nowMs));
  return toPassportClaims(payload);
}

export function createPassportVerifier(options: PassportVerifierOptions): PassportVerifier {
  const { issuer, audience } = options;
  if (typeof issuer !== 'string' || issuer === '') throw new TypeError('issuer is required');
  if (typeof audience !== 'string' || audience === '') throw new TypeError('audience is required');
  const now = options.now ?? Date.now;
  const rules: RegisteredClaimRules = {
    issuer,
    audience,
    clockToleranceSec: nonNegative(options.clockToleranceSec, 5, 'clockToleranceSec'),
    maxTokenAgeSec: nonNegative(options.maxTokenAgeSec, 120, 'maxTokenAgeSec'),
  };
  const cacheMax = nonNegative(options.cacheMax, 10_000, 'cacheMax');
  const cache = new VerifiedCache<PassportClaims>(cacheMax);
  const keys = createKeySource({
    jwksUrl: options.jwksUrl,
    jwks: options.jwks,
    cooldownMs: nonNegative(options.jwksCooldownMs, 30_000, 'jwksCooldownMs'),
    cacheMaxAgeMs: nonNegative(options.jwksCacheMaxAgeMs, 600_000, 'jwksCacheMaxAgeMs'),
    now,
  });
  const checkHeader = passportHeaderCheck();
  /** Verifications waiting on the key set, so a burst of requests with one new passport verifies it once. */
  const inFlight = new Map<string, Promise<PassportClaims>>();

  function remember(token: string, claims: PassportClaims, nowMs: number): void {
    if (cacheMax === 0) return;
    // Good until it expires or grows too old, whichever comes first; no leeway on the cached path.
    const expiresAtMs = Math.min(claims.exp, claims.iat + rules.maxTokenAgeSec) * 1000;
    cache.set(token, claims, expiresAtMs, nowMs);
  }

  /** The key is not at hand (first use of a kid, a key set to load or reload): ask the key set. */
  async function verifyAfterKeyLookup(token: string, split: SplitPassport): Promise<PassportClaims> {
    try {
      const key = await keys.resolve(split.header as CompactJWSHeaderParameters, {
        protected: token.slice(0, split.firstDot),
        payload: token.slice(split.firstDot + 1, split.secondDot),
        signature: token.slice(split.secondDot + 1),
      });
      const nowMs = now();
      const claims = verifyWithKey(token, split, key, rules, nowMs);
      remember(token, claims, nowMs);
      return claims;
    } catch (err) {
      throw passportErrorFrom(err);
    }
  }

  return {
    verify(token: string): Promise<PassportClaims> {
      if (typeof token !== 'string' || token === '') {
        return Promise.reject(new PassportError('passport_malformed', 'the passport is not a non-empty string'));
      }
      const nowMs = now();
      if (cacheMax !== 0) {
        const hit = cache.get(token, nowMs);
        if (hit !== undefined) return Promise.resolve(hit);
      }
      if (inFlight.size !== 0) {
        const pending = inFlight.get(token);
        if (pending !== undefined) return pending;
      }
      let split: SplitPassport;
      let key: KeyObject | undefined;
      try {
        split = checkHeader(token);
        key = keys.cached(split.header.kid);
        if (key !== undefined) {
          // The fast path: the key set is loaded and fresh and knows this kid; nothing to wait for.
          const claims = verifyWithKey(token, split, key, rules, nowMs);
          remember(token, claims, nowMs);
          return Promise.resolve(claims);
        }
      } catch (err) {
        return Promise.reject(passportErrorFrom(err));
      }
      const pending = verifyAfterKeyLookup(token, split).finally(() => inFlight.delete(token));
      inFlight.set(token, pending);
      return pending;
    },
  };
}
