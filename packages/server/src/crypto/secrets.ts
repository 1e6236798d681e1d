import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256-bit random secret, base64url (43 chars). Used for session tokens and refresh tokens. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Public identifiers (session ids, user ids): 128-bit random, base64url. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * SHA-256 of a secret, base64url. Only this is ever stored. One-shot `crypto.hash` (Node >= 20.12):
 * about 4x cheaper than createHash().update().digest(); the gateway runs it on every cookie request.
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'base64url');
}

/** Constant-time string comparison (for CSRF tokens and other short secrets). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ab.length !== bb.length) {
    // Compare against itself to spend similar time, then fail.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
