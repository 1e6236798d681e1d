import { decodeProtectedHeader } from 'jose';
import type { ProtectedHeaderParameters } from 'jose';
import { PASSPORT_TYP } from './claims.js';
import { PassportError } from './errors.js';

/** Longest passport accepted, in characters: a passport is a few hundred bytes; this bounds the work. */
export const MAX_PASSPORT_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A `kid` is an opaque identifier: never a path, URL or anything needing escaping. */
const SAFE_KID = /^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,127}$/;
/** Header parameters that point at (or carry) a key: a passport's key comes only from the JWKS. */
const KEY_REFERENCE_PARAMS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

function malformed(message: string): PassportError {
  return new PassportError('passport_malformed', message);
}

function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/**
 * Structural and header checks done before any key lookup, so junk (alg none, HS256, embedded keys,
 * path-like kids, crit) is refused without touching the key set. Returns the decoded header; throws
 * a `PassportError` (`passport_wrong_type` for a `typ` that is not a passport's, else
 * `passport_malformed`) describing the first problem otherwise.
 */
export function checkProtectedHeader(token: string): ProtectedHeaderParameters & { kid: string } {
  if (token.length > MAX_PASSPORT_LENGTH) throw malformed('passport too long');
  if (!COMPACT_JWS.test(token)) throw malformed('not a compact JWS');
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(token);
  } catch (err) {
    throw new PassportError('passport_malformed', 'the protected header is not base64url JSON', { cause: err });
  }
  if (header.alg !== 'EdDSA') throw malformed('unexpected alg');
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== PASSPORT_TYP) {
    throw new PassportError('passport_wrong_type', 'the token is not a passport (typ is not passport+jwt)');
  }
  if (Object.prototype.hasOwnProperty.call(header, 'crit')) throw malformed('crit header not accepted');
  for (const param of KEY_REFERENCE_PARAMS) {
    if (Object.prototype.hasOwnProperty.call(header, param)) throw malformed(`${param} header not accepted`);
  }
  const { kid } = header;
  if (typeof kid !== 'string' || !SAFE_KID.test(kid) || kid.includes('..')) throw malformed('bad kid');
  return { ...header, kid };
}
