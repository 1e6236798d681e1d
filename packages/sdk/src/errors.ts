/**
 * Why a passport was refused. Each code names one cause, so a service's log (or `onError`) can say
 * what went wrong; the public answer stays generic (see `refusalFor`).
 *
 * 401, the request's fault:
 * - `passport_missing`: the request carries no `x-passport` header.
 * - `passport_malformed`: not a well-formed Gatehouse passport: a repeated or empty header, not a
 *   compact JWS, too long, a header that is refused (`alg` other than EdDSA, `crit`, `b64`, embedded
 *   or referenced keys, a path-like `kid`), or claims missing or of the wrong type.
 * - `passport_wrong_type`: a JWT that is not a passport (`typ` other than exactly `passport+jwt`), e.g. an
 *   access token sent straight to the service.
 * - `passport_expired`: past its `exp`, or older than `maxTokenAgeSec` (by `iat`).
 * - `passport_not_yet_valid`: `nbf` or `iat` in the future (beyond the clock tolerance).
 * - `issuer_mismatch`: `iss` is not the configured issuer (another gateway, or a wrong `issuer`).
 * - `audience_mismatch`: `aud` is not this service (a passport minted for another route's service).
 * - `unknown_key`: no key of the key set has the passport's `kid` (another gateway's key, or a key
 *   not published yet).
 * - `signature_invalid`: the signature does not verify with the key of that `kid` (forged or altered).
 *
 * 503, nothing can be verified right now:
 * - `jwks_unreachable`: the key set could not be fetched (connection refused, timeout, an HTTP
 *   status other than 200, or the `jwks` getter threw).
 * - `jwks_invalid`: the key set answered but is not a JSON Web Key Set.
 *
 * 403:
 * - `forbidden`: a valid passport that lacks a required role (see `requireRole`).
 *
 * 401, the user must sign in again or more strongly (RFC 9470):
 * - `insufficient_user_authentication`: a valid passport whose `amr` lacks `mfa` or whose
 *   `auth_time` is too old for what the service asked (see `requireAuthentication`).
 */
export type PassportErrorCode =
  | 'passport_missing'
  | 'passport_malformed'
  | 'passport_wrong_type'
  | 'passport_expired'
  | 'passport_not_yet_valid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'unknown_key'
  | 'signature_invalid'
  | 'jwks_unreachable'
  | 'jwks_invalid'
  | 'forbidden'
  | 'insufficient_user_authentication';

/** Every code, with the HTTP status the middleware answers it with. */
export const PASSPORT_ERROR_STATUS: Readonly<Record<PassportErrorCode, 401 | 403 | 503>> = Object.freeze({
  passport_missing: 401,
  passport_malformed: 401,
  passport_wrong_type: 401,
  passport_expired: 401,
  passport_not_yet_valid: 401,
  issuer_mismatch: 401,
  audience_mismatch: 401,
  unknown_key: 401,
  signature_invalid: 401,
  jwks_unreachable: 503,
  jwks_invalid: 503,
  forbidden: 403,
  insufficient_user_authentication: 401,
});

/**
 * The only error the SDK throws for a refused passport. `code` names the cause; `message` is a
 * fixed text for logs (never a claim value or the token); `cause` holds the underlying (e.g. jose)
 * error. None of them is meant for clients: the middleware answers with a fixed text.
 */
export class PassportError extends Error {
  override readonly name = 'PassportError';
  readonly code: PassportErrorCode;

  constructor(code: PassportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  /**
   * For `insufficient_user_authentication` (`requireAuthentication`): what was missing, `mfa` or
   * `max_age`, and the most seconds since the sign-in the service accepts, when it set one.
   */
  required?: 'mfa' | 'max_age';
  maxAgeSec?: number;

  /** The HTTP status the middleware answers with: 401, 403 (`forbidden`) or 503 (`jwks_*`). */
  get status(): 401 | 403 | 503 {
    return PASSPORT_ERROR_STATUS[this.code];
  }
}

export function isPassportError(err: unknown): err is PassportError {
  return err instanceof PassportError;
}

/**
 * The log text of each cause the verifier names itself (fixed texts: never a claim value or the
 * token), the same whether jose or the SDK's own checks found it.
 */
const REFUSAL_MESSAGES: Partial<Record<PassportErrorCode, string>> = {
  passport_malformed: 'the passport is not a well-formed Gatehouse passport',
  passport_wrong_type: 'the token is not a passport (typ is not passport+jwt)',
  passport_expired: 'the passport has expired',
  passport_not_yet_valid: 'the passport is not valid yet (nbf or iat in the future)',
  issuer_mismatch: 'the passport was issued by another issuer than the one configured',
  audience_mismatch: 'the passport is meant for another service (aud)',
  unknown_key: 'no key of the key set has the passport\'s kid',
  signature_invalid: 'the passport\'s signature does not verify',
};

/** A `PassportError` for `code` with its fixed log text. */
export function refusal(code: PassportErrorCode, cause?: unknown): PassportError {
  return new PassportError(code, REFUSAL_MESSAGES[code] ?? code, cause === undefined ? undefined : { cause });
}
