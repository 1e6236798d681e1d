/**
 * Why a passport was refused:
 * - `missing_passport`: the request carries no `x-passport` header.
 * - `invalid_passport`: the passport is malformed, forged, expired, or meant for another service.
 * - `jwks_unavailable`: the gateway's public keys could not be loaded, so nothing can be verified.
 * - `forbidden`: a valid passport that lacks a required role (see `requireRole`).
 */
export type PassportErrorCode = 'missing_passport' | 'invalid_passport' | 'jwks_unavailable' | 'forbidden';

/**
 * The only error the SDK throws for a refused passport. `message` is for logs; `cause` holds the
 * underlying (e.g. jose) error. Neither is meant for clients: the middleware answers with a fixed text.
 */
export class PassportError extends Error {
  override readonly name = 'PassportError';
  readonly code: PassportErrorCode;

  constructor(code: PassportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isPassportError(err: unknown): err is PassportError {
  return err instanceof PassportError;
}
