import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { deriveRefreshRotationKey } from '../crypto/rotation-key.js';
import {
  API_TOKEN_LENGTH,
  CLIENT_SECRET_LENGTH,
  crc32,
  generateApiToken,
  generateClientSecret,
  generateRefreshToken,
  isRefreshTokenShape,
  isWellFormedApiToken,
  isWellFormedClientSecret,
  refreshTokenSuccessor,
} from './token-formats.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

describe('token formats', () => {
  it('crc32 matches zlib', () => {
    for (const s of ['', 'a', 'gh_abc', 'The quick brown fox jumps over the lazy dog', 'ü€😀']) {
      expect(crc32(s)).toBe(zlibCrc32(s));
    }
    expect(crc32('123456789')).toBe(0xcbf43926);
  });

  it('API tokens: gh_ + 43 base62 + 6 base62 checksum, all different, all well-formed', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const t = generateApiToken();
      expect(t).toMatch(/^gh_[0-9A-Za-z]{49}$/);
      expect(t).toHaveLength(API_TOKEN_LENGTH);
      expect(isWellFormedApiToken(t)).toBe(true);
      seen.add(t);
    }
    expect(seen.size).toBe(500);
  });

  it('a one-character typo anywhere after the prefix breaks the checksum', () => {
    const t = generateApiToken();
    for (let i = 3; i < t.length; i++) {
      const other = BASE62[(BASE62.indexOf(t[i]!) + 1 + (i % 60)) % 62]!;
      const typo = t.slice(0, i) + other + t.slice(i + 1);
      expect(isWellFormedApiToken(typo), `position ${i}`).toBe(false);
    }
    // Swapping two different adjacent characters too.
    const i = [...t.slice(3)].findIndex((c, j) => c !== t[3 + j + 1]) + 3;
    expect(isWellFormedApiToken(t.slice(0, i) + t[i + 1] + t[i] + t.slice(i + 2))).toBe(false);
  });

  it('refuses wrong prefix, length, alphabet and other kinds of tokens', () => {
    const t = generateApiToken();
    expect(isWellFormedApiToken(`GH_${t.slice(3)}`)).toBe(false);
    expect(isWellFormedApiToken(t.slice(0, -1))).toBe(false);
    expect(isWellFormedApiToken(`${t}0`)).toBe(false);
    expect(isWellFormedApiToken(`${t.slice(0, 10)}-${t.slice(11)}`)).toBe(false);
    expect(isWellFormedApiToken(generateRefreshToken())).toBe(false);
    expect(isWellFormedApiToken('')).toBe(false);
    expect(isWellFormedApiToken(123 as unknown as string)).toBe(false);
  });

  it('refresh tokens: ghr_ + 43 base64url; the shape check refuses others', () => {
    const r = generateRefreshToken();
    expect(r).toMatch(/^ghr_[A-Za-z0-9_-]{43}$/);
    expect(isRefreshTokenShape(r)).toBe(true);
    expect(isRefreshTokenShape(r.slice(4))).toBe(false); // a session cookie value
    expect(isRefreshTokenShape(`${r}A`)).toBe(false);
    expect(isRefreshTokenShape(generateApiToken())).toBe(false);
    expect(isRefreshTokenShape('eyJhbGciOiJFZERTQSJ9.e30.sig')).toBe(false);
  });

  it('the successor of a refresh token is deterministic per key, well-shaped, and differs per key and token', () => {
    const k1 = deriveRefreshRotationKey(new Uint8Array(32).fill(1));
    const k2 = deriveRefreshRotationKey(new Uint8Array(32).fill(2));
    expect(k1).toHaveLength(32);
    const t = generateRefreshToken();
    const s = refreshTokenSuccessor(k1, t);
    expect(isRefreshTokenShape(s)).toBe(true);
    expect(refreshTokenSuccessor(k1, t)).toBe(s);
    expect(refreshTokenSuccessor(k2, t)).not.toBe(s);
    expect(refreshTokenSuccessor(k1, generateRefreshToken())).not.toBe(s);
  });

  it('client secrets: ghc_ + 43 base62 + 6 base62 checksum; a typo, an API token or a re-prefixed one is refused', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const c = generateClientSecret();
      expect(c).toMatch(/^ghc_[0-9A-Za-z]{49}$/);
      expect(c).toHaveLength(CLIENT_SECRET_LENGTH);
      expect(isWellFormedClientSecret(c)).toBe(true);
      expect(isWellFormedApiToken(c)).toBe(false);
      seen.add(c);
    }
    expect(seen.size).toBe(200);
    const c = generateClientSecret();
    for (let i = 4; i < c.length; i++) {
      const other = BASE62[(BASE62.indexOf(c[i]!) + 1 + (i % 60)) % 62]!;
      expect(isWellFormedClientSecret(c.slice(0, i) + other + c.slice(i + 1)), `position ${i}`).toBe(false);
    }
    const api = generateApiToken();
    expect(isWellFormedClientSecret(api)).toBe(false);
    // The checksum covers the prefix: an API token's body under the client prefix is refused.
    expect(isWellFormedClientSecret(`ghc_${api.slice(3)}`)).toBe(false);
    expect(isWellFormedClientSecret(c.slice(0, -1))).toBe(false);
    expect(isWellFormedClientSecret(generateRefreshToken())).toBe(false);
    expect(isWellFormedClientSecret('')).toBe(false);
    expect(isWellFormedClientSecret(null as unknown as string)).toBe(false);
  });
});
