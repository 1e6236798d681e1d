import { errors } from 'jose';
import { PassportError } from './errors.js';
import type { PassportErrorCode } from './errors.js';

/** The log text of a cause that jose reported (fixed texts: never a claim value or the token). */
const MESSAGES: Partial<Record<PassportErrorCode, string>> = {
  passport_malformed: 'the passport is not a well-formed Gatehouse passport',
  passport_wrong_type: 'the token is not a passport (typ is not passport+jwt)',
  passport_expired: 'the passport has expired',
  passport_not_yet_valid: 'the passport is not valid yet (nbf or iat in the future)',
  issuer_mismatch: 'the passport was issued by another issuer than the one configured',
  audience_mismatch: 'the passport is meant for another service (aud)',
  unknown_key: 'no key of the key set has the passport\'s kid',
  signature_invalid: 'the passport\'s signature does not verify',
};

function fromJose(code: PassportErrorCode, cause: unknown): PassportError {
  return new PassportError(code, MESSAGES[code] ?? code, { cause });
}

/** The cause a jose claim check names: `iss`, `aud`, `typ`, `nbf`, `iat`, or a required claim. */
function claimCode(err: errors.JWTClaimValidationFailed): PassportErrorCode {
  if (err.reason === 'missing' || err.reason === 'invalid') return 'passport_malformed';
  switch (err.claim) {
    case 'iss':
      return 'issuer_mismatch';
    case 'aud':
      return 'audience_mismatch';
    case 'typ':
      return 'passport_wrong_type';
    case 'nbf':
    case 'iat':
      return 'passport_not_yet_valid';
    default:
      return 'passport_malformed';
  }
}

/**
 * Whatever verifying a passport threw, as a `PassportError` naming its cause. A `PassportError`
 * (from the header, claim or key-set checks) passes through; jose's errors map by class; anything
 * else is a malformed passport (e.g. a TypeError on a payload of the wrong shape).
 */
export function passportErrorFrom(err: unknown): PassportError {
  if (err instanceof PassportError) return err;
  if (err instanceof errors.JWTExpired) return fromJose('passport_expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) return fromJose(claimCode(err), err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return fromJose('signature_invalid', err);
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return fromJose('unknown_key', err);
  }
  return fromJose('passport_malformed', err);
}
