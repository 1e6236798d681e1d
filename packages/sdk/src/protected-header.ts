import type { ProtectedHeaderParameters } from 'jose';
import { PASSPORT_TYP } from './claims.js';
import { PassportError } from './errors.js';

/** Longest passport accepted, in characters: a passport is a few hundred bytes; this bounds the work. */
export const MAX_PASSPORT_LENGTH = 8192;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** A `kid` is an opaque identifier: never a path, URL or anything needing escaping. */
const SAFE_KID = /^[A-Za-z0-9_-][A-Za-z0-9._:-]{0,127}$/;
/**
 * Header parameters that point at, carry or fingerprint a key (a Gatehouse token's key comes only
 * from the key set, by `kid`), or change what is signed (`b64`): refused outright.
 */
const REFUSED_PARAMS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'b64'] as const;

/** What a JWS protected header must be to be looked at any further. */
export interface ProtectedHeaderRules {
  /** The `typ` required, exactly as Gatehouse writes it (`passport+jwt`, `at+jwt`): no case or `application/` variants. */
  typ: string;
  /** Longest token accepted, in characters. */
  maxLength: number;
  /** What the token is called in the reasons (`passport`, `token`). Default `token`. */
  name?: string;
}

/** The decoded header of a token that passed, with its `kid`. */
export type CheckedProtectedHeader = ProtectedHeaderParameters & { kid: string };

/**
 * The outcome of `inspectProtectedHeader`: the header, or why it was refused. `wrongType`: a
 * well-formed token of another `typ` (e.g. an access token sent where a passport is expected).
 * `reason` is fixed text (never a header value), fit for a log.
 */
export type ProtectedHeaderVerdict =
  | { ok: true; header: CheckedProtectedHeader }
  | { ok: false; wrongType: boolean; reason: string; cause?: unknown };

type RefusedVerdict = Extract<ProtectedHeaderVerdict, { ok: false }>;

function refused(reason: string, cause?: unknown): RefusedVerdict {
  return cause === undefined ? { ok: false, wrongType: false, reason } : { ok: false, wrongType: false, reason, cause };
}

/** jose's decoder for a JWS's JSON members: UTF-8 only (a malformed sequence throws), a leading BOM dropped. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A base64url segment's bytes, decoded as jose decodes one (`atob`: a length of 4n+1 is refused,
 * the spare bits of the last character are ignored). Only for text that matched COMPACT_JWS (no
 * character outside the base64url alphabet, no padding): Buffer's decoder agrees with jose there.
 */
export function decodeSegment(segment: string): Buffer {
  if (segment.length % 4 === 1) throw new TypeError('The input to be decoded is not correctly encoded.');
  return Buffer.from(segment, 'base64url');
}

/** A JSON object as jose accepts one in a JWS: strict UTF-8 JSON whose top level is a plain object. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  const value: unknown = JSON.parse(strictUtf8.decode(bytes));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/** `inspectProtectedHeader`'s verdict with where the token's two dots are, for the verifier that goes on. */
export type SplitProtectedHeaderVerdict =
  | { ok: true; header: CheckedProtectedHeader; firstDot: number; secondDot: number }
  | RefusedVerdict;

/** `inspectProtectedHeader`, also returning the positions of the two dots (internal). */
export function splitProtectedHeader(token: string, rules: ProtectedHeaderRules): SplitProtectedHeaderVerdict {
  const name = rules.name ?? 'token';
  if (typeof token !== 'string') return refused(`${name} is not a string`);
  if (token.length > rules.maxLength) return refused(`${name} too long`);
  if (!COMPACT_JWS.test(token)) return refused('not a compact JWS');
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  let header: ProtectedHeaderParameters | undefined;
  try {
    header = parseJsonObject(decodeSegment(token.slice(0, firstDot)));
  } catch (err) {
    return refused('the protected header is not base64url JSON', err);
  }
  if (header === undefined) return refused('the protected header is not base64url JSON');
  if (header.alg !== 'EdDSA') return refused('unexpected alg');
  if (header.typ !== rules.typ) return { ok: false, wrongType: true, reason: `typ is not ${rules.typ}` };
  if (Object.prototype.hasOwnProperty.call(header, 'crit')) return refused('crit header not accepted');
  for (const param of REFUSED_PARAMS) {
    if (Object.prototype.hasOwnProperty.call(header, param)) return refused(`${param} header not accepted`);
  }
  const { kid } = header;
  if (typeof kid !== 'string' || !SAFE_KID.test(kid) || kid.includes('..')) return refused('bad kid');
  return { ok: true, header: header as CheckedProtectedHeader, firstDot, secondDot };
}

/**
 * The one JWS header hardening of Gatehouse: the SDK's passport verifier and the server's own
 * tokens (`packages/server/src/crypto/jwt.ts`) both run it before any key lookup, so junk (too long,
 * not a compact JWS, `alg` none or HS256, another `typ`, `crit`, embedded or referenced keys,
 * `b64`, a path-like or missing `kid`) is refused without touching the key set. Never throws.
 * The header is decoded as jose's `decodeProtectedHeader` decodes it (strict base64url, UTF-8, a
 * JSON object).
 */
export function inspectProtectedHeader(token: string, rules: ProtectedHeaderRules): ProtectedHeaderVerdict {
  const verdict = splitProtectedHeader(token, rules);
  return verdict.ok ? { ok: true, header: verdict.header } : verdict;
}

/**
 * `inspectProtectedHeader` for a passport. Returns the decoded header; throws a `PassportError`
 * (`passport_wrong_type` for a `typ` that is not a passport's, else `passport_malformed`)
 * describing the first problem otherwise.
 */
export function checkProtectedHeader(token: string): CheckedProtectedHeader {
  return checkPassportHeader(token).header;
}

/** `checkProtectedHeader` with the positions of the token's two dots (internal, for the verifier). */
export function checkPassportHeader(token: string): { header: CheckedProtectedHeader; firstDot: number; secondDot: number } {
  const verdict = splitProtectedHeader(token, PASSPORT_RULES);
  if (verdict.ok) return verdict;
  if (verdict.wrongType) throw new PassportError('passport_wrong_type', 'the token is not a passport (typ is not passport+jwt)');
  throw new PassportError('passport_malformed', verdict.reason, verdict.cause === undefined ? undefined : { cause: verdict.cause });
}

const PASSPORT_RULES: ProtectedHeaderRules = { typ: PASSPORT_TYP, maxLength: MAX_PASSPORT_LENGTH, name: 'passport' };

/**
 * `checkPassportHeader` that remembers the last header it passed: the passports of one key share
 * one header segment, so it is decoded and checked once. A token that starts with that segment
 * and a dot, is not too long and is a compact JWS gets the same verdict without decoding it
 * again; any other goes through `checkPassportHeader`. For one verifier (internal).
 */
export function passportHeaderCheck(): (token: string) => { header: CheckedProtectedHeader; firstDot: number; secondDot: number } {
  let segment = '';
  let header: CheckedProtectedHeader | undefined;
  return (token) => {
    const firstDot = segment.length;
    if (header !== undefined && token.length <= MAX_PASSPORT_LENGTH && token.charCodeAt(firstDot) === 0x2e && token.startsWith(segment) && COMPACT_JWS.test(token)) {
      return { header, firstDot, secondDot: token.indexOf('.', firstDot + 1) };
    }
    const checked = checkPassportHeader(token);
    segment = token.slice(0, checked.firstDot);
    header = Object.freeze(checked.header);
    return checked;
  };
}
