import { CompactEncrypt, compactDecrypt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Deps } from '../../context.js';

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SEC = 30;
const DIGITS = 6;
/** Codes of the step before and after the current one are accepted too (clock drift, a code typed as it turned). */
const WINDOW = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function totpOf(secretBase32: string, label = 'user', issuer = 'Gatehouse'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD_SEC, secret: Secret.fromBase32(secretBase32) });
}

/** A new random secret (160 bits, RFC 4226 §4), base32 as apps take it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/**
 * Encrypts the secret for the store: a compact JWE (dir, A256GCM) under `deps.mfaKey` (HKDF of
 * the master key), with the user id in the authenticated header so a row copied to another
 * user does not decrypt as theirs.
 */
export async function sealTotpSecret(deps: Pick<Deps, 'mfaKey'>, userId: string, secretBase32: string): Promise<string> {
  return new CompactEncrypt(encoder.encode(secretBase32)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', uid: userId }).encrypt(deps.mfaKey);
}

/** The secret of `sealTotpSecret`; throws when it was not sealed for this user under this key. */
export async function openTotpSecret(deps: Pick<Deps, 'mfaKey'>, userId: string, secretJwe: string): Promise<string> {
  const { plaintext, protectedHeader } = await compactDecrypt(secretJwe, deps.mfaKey, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
  if (protectedHeader['uid'] !== userId) throw new Error('the TOTP secret was sealed for another user');
  return decoder.decode(plaintext);
}

/** The `otpauth://totp/...` URI an app takes from the QR code. */
export function totpUri(secretBase32: string, username: string, issuer: string): string {
  return totpOf(secretBase32, username, issuer).toString();
}

/** The URI as a QR code, an SVG document rendered here (no third-party service). */
export function totpQrSvg(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** Six digits, spaces allowed (apps show "123 456"); anything else is no code. */
export function normaliseTotpCode(code: string): string | null {
  const c = code.replace(/\s+/g, '');
  return /^\d{6}$/.test(c) ? c : null;
}

/**
 * The time step `code` belongs to (current one ± WINDOW) at `now` (ms), or null when it is no
 * valid code. Which step matters: the store accepts each step once and only forwards.
 */
export function totpStepOf(secretBase32: string, code: string, now: number): number | null {
  const c = normaliseTotpCode(code);
  if (c === null) return null;
  const delta = totpOf(secretBase32).validate({ token: c, timestamp: now, window: WINDOW });
  if (delta === null) return null;
  return Math.floor(now / 1000 / TOTP_PERIOD_SEC) + delta;
}

/** The code of `secretBase32` at `now` (ms): for tests and the bench. */
export function totpCodeAt(secretBase32: string, now: number): string {
  return totpOf(secretBase32).generate({ timestamp: now });
}
