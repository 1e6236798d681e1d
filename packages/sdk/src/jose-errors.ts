import { errors } from 'jose';
import { PassportError, refusal } from './errors.js';
import type { PassportErrorCode } from './errors.js';

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
  if (err instanceof errors.JWTExpired) return refusal('passport_expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) return refusal(claimCode(err), err);
  if (err instanceof errors.JWSSignatureVerificationFailed) return refusal('signature_invalid', err);
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return refusal('unknown_key', err);
  }
  return refusal('passport_malformed', err);
}
