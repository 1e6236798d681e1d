import { createHmac, hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

/** 256-bit random secret, base64url (43 chars). Used for session tokens and refresh tokens. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Bytes for `randomId`, drawn from the CSPRNG 4 KiB at a time (as Node's own randomUUID caches
 * its entropy): a randomBytes call costs ~5 µs of job setup on this VM whatever its size, and
 * every token grant draws a `jti`. Each byte is handed out once, in order; then the whole buffer
 * is refilled. Only identifiers come from here: secrets (`randomSecret`) are never cached.
 */
const ID_POOL_SIZE = 4096;
const idPool = Buffer.allocUnsafeSlow(ID_POOL_SIZE);
let idPoolAt = ID_POOL_SIZE;

/** Public identifiers (session ids, user ids, jti): 128-bit random, base64url. */
export function randomId(bytes = 16): string {
  if (bytes > 256) return randomBytes(bytes).toString('base64url');
  if (idPoolAt + bytes > ID_POOL_SIZE) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const id = idPool.toString('base64url', idPoolAt, idPoolAt + bytes);
  idPoolAt += bytes;
  return id;
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

/** HMAC-SHA-256 of `message` under `key`, base64url (43 chars): a keyed, stable pseudonym of an identifier. */
export function keyedHash(key: Uint8Array, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('base64url');
}
