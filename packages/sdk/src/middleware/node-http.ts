import type { PassportClaims } from '../claims.js';
import type { HeadersLike } from '../headers.js';
import type { ServerResponseLike } from '../problem.js';
import { writeRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

/**
 * For a plain `node:http` handler: resolves with the verified claims, or with null after answering
 * 401 problem+json (503 when the keys cannot be loaded) itself. With `required: false`, a request
 * without a passport also resolves with null but nothing is answered: check `res.writableEnded`.
 *
 *     const passport = nodePassport(verifier);
 *     http.createServer(async (req, res) => {
 *       const claims = await passport(req, res);
 *       if (!claims) return;
 *       ...
 *     });
 */
export function nodePassport(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions = {},
): (req: { headers: HeadersLike }, res: ServerResponseLike) => Promise<PassportClaims | null> {
  const required = options.required ?? true;
  return async (req, res) => {
    const result = await authenticate(verifier, req.headers, required);
    if (result.ok) return result.claims;
    writeRefusal(res, result.refusal);
    return null;
  };
}
