import { createHmac, hkdfSync } from 'node:crypto';
import { REFRESH_TOKEN_PREFIX } from './token-formats.js';

/**
 * The key that makes refresh-token rotation deterministic: HKDF-SHA256 of the master key for
 * this one purpose. Never log it; it never leaves the process.
 */
export function deriveRefreshRotationKey(masterKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterKey, 'gatehouse', 'gatehouse refresh rotation', 32));
}

/**
 * The successor of refresh token `token`: `ghr_` + base64url(HMAC-SHA256(rotationKey, token)).
 * The same token always has the same successor, so a retry within the grace period gets exactly
 * the token the first answer carried, without storing any plaintext; nobody without the server's
 * key can compute it.
 */
export function refreshTokenSuccessor(rotationKey: Uint8Array, token: string): string {
  return REFRESH_TOKEN_PREFIX + createHmac('sha256', rotationKey).update(token, 'utf8').digest('base64url');
}
