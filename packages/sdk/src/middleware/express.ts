import type { PassportClaims } from '../claims.js';
import type { HeadersLike } from '../headers.js';
import type { ServerResponseLike } from '../problem.js';
import { writeRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

export interface ExpressRequestLike {
  headers: HeadersLike;
  passport?: PassportClaims | null;
}

/**
 * Express middleware: sets `req.passport` and calls `next()`, or answers 401 problem+json itself
 * (503 when the keys cannot be loaded).
 *
 *     app.use(expressPassport(verifier));
 */
export function expressPassport(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions = {},
): (req: ExpressRequestLike, res: ServerResponseLike, next: (err?: unknown) => void) => void {
  const required = options.required ?? true;
  return (req, res, next) => {
    authenticate(verifier, req.headers, required).then(
      (result) => {
        if (result.ok) {
          req.passport = result.claims;
          next();
        } else {
          writeRefusal(res, result.refusal);
        }
      },
      (err: unknown) => next(err),
    );
  };
}
