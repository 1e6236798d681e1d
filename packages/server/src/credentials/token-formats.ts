import { createHmac, randomBytes } from 'node:crypto';
import { randomSecret } from '../crypto/secrets.js';

/**
 * Wire formats of the opaque bearer secrets. Each kind has its own prefix, so a token sent in
 * the wrong place is refused by its shape before any lookup:
 * - refresh token: `ghr_` + 43 base64url characters (256 bits);
 * - API token: `gh_` + 43 base62 characters (32 random bytes, left-padded with `0`) + a 6-character
 *   base62 CRC32 of everything before it (52 characters in all). The checksum lets the gateway
 *   refuse a mistyped or truncated token without a store call; it is not a security feature;
 * - OAuth client secret: `ghc_` + the same 43 base62 characters and 6-character checksum as an
 *   API token (53 characters in all): shown once, stored as its SHA-256, recognisable by secret
 *   scanners, and a typo is refused before any lookup;
 * - device code (RFC 8628): `ghd_` + 43 base64url characters (256 bits), stored as its SHA-256;
 * - session cookie: plain 43 base64url characters (no prefix).
 */

export const DEVICE_CODE_PREFIX = 'ghd_';
const DEVICE_CODE_RE = /^ghd_[A-Za-z0-9_-]{43}$/;

/** A new device code: `ghd_` + 256 random bits, base64url. */
export function generateDeviceCode(): string {
  return DEVICE_CODE_PREFIX + randomSecret();
}

/** Whether `t` has the shape of a device code (no lookup). */
export function isDeviceCodeShape(t: string): boolean {
  return typeof t === 'string' && DEVICE_CODE_RE.test(t);
}

export const REFRESH_TOKEN_PREFIX = 'ghr_';
export const API_TOKEN_PREFIX = 'gh_';
export const CLIENT_SECRET_PREFIX = 'ghc_';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^43 > 2^256 > 62^42: 43 base62 digits hold any 32-byte value. */
const API_TOKEN_BODY_LENGTH = 43;
/** 62^6 > 2^32. */
const API_TOKEN_CHECKSUM_LENGTH = 6;
export const API_TOKEN_LENGTH = API_TOKEN_PREFIX.length + API_TOKEN_BODY_LENGTH + API_TOKEN_CHECKSUM_LENGTH;
export const CLIENT_SECRET_LENGTH = CLIENT_SECRET_PREFIX.length + API_TOKEN_BODY_LENGTH + API_TOKEN_CHECKSUM_LENGTH;

const REFRESH_RE = /^ghr_[A-Za-z0-9_-]{43}$/;
const API_TOKEN_RE = new RegExp(`^${API_TOKEN_PREFIX}[0-9A-Za-z]{${API_TOKEN_BODY_LENGTH + API_TOKEN_CHECKSUM_LENGTH}}$`);
const CLIENT_SECRET_RE = new RegExp(`^${CLIENT_SECRET_PREFIX}[0-9A-Za-z]{${API_TOKEN_BODY_LENGTH + API_TOKEN_CHECKSUM_LENGTH}}$`);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zlib) of a UTF-8 string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Base62 of a non-negative integer, left-padded with `0` to `length` digits. */
function base62(value: bigint, length: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = BASE62[Number(v % 62n)]! + out;
    v /= 62n;
  }
  return out.padStart(length, '0');
}

function checksumOf(head: string): string {
  return base62(BigInt(crc32(head)), API_TOKEN_CHECKSUM_LENGTH);
}

/** A new refresh token: `ghr_` + 256 random bits, base64url. */
export function generateRefreshToken(): string {
  return REFRESH_TOKEN_PREFIX + randomSecret();
}

/**
 * The successor of refresh token `token`: `ghr_` + base64url(HMAC-SHA256(rotationKey, token)).
 * The same token always has the same successor, so a retry within the grace period gets exactly
 * the token the first answer carried, without storing any plaintext; nobody without the server's
 * key (`crypto/rotation-key.ts`) can compute it.
 */
export function refreshTokenSuccessor(rotationKey: Uint8Array, token: string): string {
  return REFRESH_TOKEN_PREFIX + createHmac('sha256', rotationKey).update(token, 'utf8').digest('base64url');
}

/** Whether `t` has the shape of a refresh token (no lookup, no checksum). */
export function isRefreshTokenShape(t: string): boolean {
  return typeof t === 'string' && REFRESH_RE.test(t);
}

/** `prefix` + base62 of 32 random bytes + base62 CRC32 checksum of everything before it. */
function checksummedSecret(prefix: string): string {
  const head = prefix + base62(BigInt(`0x${randomBytes(32).toString('hex')}`), API_TOKEN_BODY_LENGTH);
  return head + checksumOf(head);
}

function hasValidChecksum(t: string): boolean {
  return checksumOf(t.slice(0, -API_TOKEN_CHECKSUM_LENGTH)) === t.slice(-API_TOKEN_CHECKSUM_LENGTH);
}

/** A new personal API token: `gh_` + base62 of 32 random bytes + base62 CRC32 checksum. */
export function generateApiToken(): string {
  return checksummedSecret(API_TOKEN_PREFIX);
}

/** Prefix, length, alphabet and checksum of an API token: a typo is refused without a lookup. */
export function isWellFormedApiToken(t: string): boolean {
  if (typeof t !== 'string' || t.length !== API_TOKEN_LENGTH || !API_TOKEN_RE.test(t)) return false;
  return hasValidChecksum(t);
}

/** A new OAuth client secret: `ghc_` + base62 of 32 random bytes + base62 CRC32 checksum. */
export function generateClientSecret(): string {
  return checksummedSecret(CLIENT_SECRET_PREFIX);
}

/** Prefix, length, alphabet and checksum of a client secret: a typo is refused without a lookup. */
export function isWellFormedClientSecret(t: string): boolean {
  if (typeof t !== 'string' || t.length !== CLIENT_SECRET_LENGTH || !CLIENT_SECRET_RE.test(t)) return false;
  return hasValidChecksum(t);
}
