/**
 * `@gatehouse/sdk/express`: the Express middleware typed against Express's own request, response and
 * `next`, and the `Express.Request` augmentation that types `req.passport`. Importing this entry point
 * (for its middleware, or as `import '@gatehouse/sdk/express'`) is what makes `req.passport!.sub`
 * compile under `--strict` (with `@types/express`); the main entry point never imports Express.
 */
import type { NextFunction, Request, Response } from 'express';
import type { PassportClaims } from './claims.js';
import type { PassportMiddlewareOptions } from './middleware/authenticate.js';
import { expressPassport as structuralExpressPassport } from './middleware/express.js';
import type { PassportVerifier } from './verifier.js';

declare global {
  // Express's own augmentation point: express-serve-static-core's Request extends Express.Request.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified passport, set by `expressPassport` (null with `required: false` and no passport). */
      passport?: PassportClaims | null;
    }
  }
}

/**
 * Express middleware: sets `req.passport` and calls `next()`, or answers the refusal itself after
 * calling `onError(err, req)`.
 *
 *     app.use(expressPassport(verifier, { onError: (err, req) => console.warn(req.method, req.path, err.code) }));
 */
export function expressPassport(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions<Request> = {},
): (req: Request, res: Response, next: NextFunction) => void {
  return structuralExpressPassport<Request>(verifier, options);
}

export type { PassportClaims, PassportMiddlewareOptions };
