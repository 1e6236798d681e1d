import { hkdfSync } from 'node:crypto';

/** HKDF-SHA256 of the master key for one named purpose (32 bytes). Never log the result. */
function derive(masterKey: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', masterKey, 'gatehouse', purpose, 32));
}

/** Signs the `gatehouse_known_device` cookie (OWASP device cookies). */
export function deriveDeviceCookieKey(masterKey: Uint8Array): Uint8Array {
  return derive(masterKey, 'gatehouse device cookie');
}

/** Signs proof-of-work challenges (altcha) for sign-up. */
export function deriveChallengeKey(masterKey: Uint8Array): Uint8Array {
  return derive(masterKey, 'gatehouse signup challenge');
}

/** Encrypts (A256GCM) the federation transaction cookie: state, nonce and PKCE verifier of a sign-in with an external provider. */
export function deriveFederationTransactionKey(masterKey: Uint8Array): Uint8Array {
  return derive(masterKey, 'gatehouse federation transaction');
}

/** Encrypts (A256GCM) the TOTP secrets at rest (issue 17, `auth/mfa/totp.ts`). */
export function deriveMfaSecretKey(masterKey: Uint8Array): Uint8Array {
  return derive(masterKey, 'gatehouse totp secret');
}

/** Keys the HMAC-SHA-256 that turns a deleted user's id into the pseudonym their audit events keep (issue 18, docs/data-deletion.md). */
export function deriveAuditPseudonymKey(masterKey: Uint8Array): Uint8Array {
  return derive(masterKey, 'gatehouse audit pseudonym');
}
