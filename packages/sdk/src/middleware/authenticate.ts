import type { PassportClaims } from '../claims.js';
import { PassportError } from '../errors.js';
import { passportFromHeaders } from '../headers.js';
import type { HeadersLike } from '../headers.js';
import { refusalFor } from '../problem.js';
import type { PassportRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';

export interface PassportMiddlewareOptions {
  /**
   * Default true: a request without a passport is refused with 401. When false, such a request
   * passes with `passport` set to null; a passport that is present but not valid is still refused.
   */
  required?: boolean;
}

export type AuthenticateResult = { ok: true; claims: PassportClaims | null } | { ok: false; refusal: PassportRefusal };

/** The part every middleware shares: read the header, verify, decide. Never throws. */
export async function authenticate(
  verifier: PassportVerifier,
  headers: HeadersLike,
  required: boolean,
): Promise<AuthenticateResult> {
  try {
    const claims = await verifier.verify(passportFromHeaders(headers));
    return { ok: true, claims };
  } catch (err) {
    if (!required && err instanceof PassportError && err.code === 'missing_passport') {
      return { ok: true, claims: null };
    }
    return { ok: false, refusal: refusalFor(err) };
  }
}
