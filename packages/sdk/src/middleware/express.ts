import type { PassportClaims } from '../claims.js';
import type { HeadersLike } from '../headers.js';
import type { ServerResponseLike } from '../problem.js';
import { writeRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate, report } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

export interface ExpressRequestLike {
  headers: HeadersLike;
  passport?: PassportClaims | null;
}

/**
 * Express middleware: sets `req.passport` and calls `next()`, or answers 401 problem+json itself
 * (503 when the keys cannot be loaded) after calling `onError`. `import '@gatehouse/sdk/express'`
 * types `req.passport`.
 *
 *     app.use(expressPassport(verifier, { onError: (err) => console.warn('passport refused:', err.code) }));
 */
export function expressPassport<Req extends ExpressRequestLike = ExpressRequestLike>(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions<Req> = {},
): (req: Req, res: ServerResponseLike, next: (err?: unknown) => void) => void {
  const required = options.required ?? true;
  const { onError } = options;
  return (req, res, next) => {
    authenticate(verifier, req.headers, required).then(
      (result) => {
        if (result.ok) {
          req.passport = result.claims;
          next();
        } else {
          report(onError, result.error, req);
          writeRefusal(res, result.refusal);
        }
      },
      (err: unknown) => next(err),
    );
  };
}
