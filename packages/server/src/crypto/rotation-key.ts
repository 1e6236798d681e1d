import { hkdfSync } from 'node:crypto';

/**
 * The key that makes refresh-token rotation deterministic: HKDF-SHA256 of the master key for
 * this one purpose. Never log it; it never leaves the process.
 */
export function deriveRefreshRotationKey(masterKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterKey, 'gatehouse', 'gatehouse refresh rotation', 32));
}
