import type { PassportClaims } from '../claims.js';
import type { PassportError } from '../errors.js';
import { passportFromHeaders } from '../headers.js';
import type { HeadersLike } from '../headers.js';
import { passportErrorFrom } from '../jose-errors.js';
import { refusalFor } from '../problem.js';
import type { PassportRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';

export interface PassportMiddlewareOptions<Req = unknown> {
  /**
   * Default true: a request without a passport is refused with 401. When false, such a request
   * passes with `passport` set to null; a passport that is present but not valid is still refused.
   */
  required?: boolean;
  /**
   * Called once for every refused request, before the answer is sent, with the `PassportError`
   * (its `code` names the cause: `passport_expired`, `issuer_mismatch`, `jwks_unreachable`, ...)
   * and the request: for logs and metrics. The answer stays the same whatever it does; its return
   * value is ignored, and so is anything it throws or rejects with (a failing logger must neither
   * let the request through nor hang it).
   */
  onError?: (err: PassportError, request: Req) => void;
}

export type AuthenticateResult =
  | { ok: true; claims: PassportClaims | null }
  | { ok: false; error: PassportError; refusal: PassportRefusal };

/** Calls the `onError` hook, swallowing whatever it throws or rejects with. */
export function report<Req>(onError: ((err: PassportError, request: Req) => void) | undefined, err: PassportError, request: Req): void {
  if (onError === undefined) return;
  try {
    const result: unknown = onError(err, request);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // ignored, see PassportMiddlewareOptions.onError
  }
}

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
    const error = passportErrorFrom(err);
    if (!required && error.code === 'passport_missing') {
      return { ok: true, claims: null };
    }
    return { ok: false, error, refusal: refusalFor(error) };
  }
}
