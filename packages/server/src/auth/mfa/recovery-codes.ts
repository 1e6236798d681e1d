import { randomInt } from 'node:crypto';
import { hashSecret } from '../../crypto/secrets.js';

/** How many codes a user gets at a time. */
export const RECOVERY_CODE_COUNT = 10;
/** No 0/o, 1/l/i: read off paper. 31 symbols × 10 = about 50 bits each. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten new codes, shown once as `xxxxx-xxxxx`. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let s = '';
    for (let i = 0; i < 10; i++) s += ALPHABET[randomInt(ALPHABET.length)];
    return `${s.slice(0, 5)}-${s.slice(5)}`;
  });
}

/** The form that is hashed: lower case, no spaces or dashes (as typed back from paper). */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, '');
}

/**
 * What the store keeps: SHA-256 of the normalised code. A code has about 50 random bits and
 * guesses go through the sign-in lock, so a fast hash suffices (as for API tokens).
 */
export function hashRecoveryCode(code: string): string {
  return hashSecret(`gatehouse-recovery-v1\0${normaliseRecoveryCode(code)}`);
}
