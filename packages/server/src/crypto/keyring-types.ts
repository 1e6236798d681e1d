import type { KeyObject } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import type { KeyRecord } from '../stores/types.js';

/** A key that may sign now. Made by `activeSigningKey` (crypto/jwt.ts), which checks it is Ed25519. */
export interface ActiveSigningKey {
  kid: string;
  alg: 'EdDSA';
  /** The key as jose imported it (JWKS, tests that sign with jose). */
  privateKey: CryptoKey;
  /** The same key as node:crypto holds it: `signJwt` signs with it synchronously (Ed25519, `sign(null, …)`). */
  keyObject: KeyObject;
}

/**
 * Signing keys as the running process sees them: decrypted once at load, kept in memory.
 * Implemented in `crypto/keyring.ts` (`openKeyring`).
 */
export interface Keyring {
  /** The key that signs now (the newest active, not retired key). */
  signingKey(): ActiveSigningKey;
  /** Public keys to publish in JWKS: every key not yet expired, including next and retired ones. */
  jwks(): { keys: JWK[] };
  /** Public key for local verification by kid; undefined for an unknown kid. */
  publicKey(kid: string): CryptoKey | undefined;
  /** Re-read keys from the store (after a rotation by another process). */
  reload(): Promise<void>;
  /**
   * `gatehouse keys rotate` (and `POST /auth/admin/keys/rotate`): publishes a new key that signs
   * from now + KEY_PUBLISH_AHEAD_MS and schedules the current ones to retire then (`rotateKeys`),
   * then re-reads the store. Returns the new key.
   */
  rotate(): Promise<KeyRecord>;
}
