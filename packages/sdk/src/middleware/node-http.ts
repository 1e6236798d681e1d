import type { IncomingMessage } from 'node:http';
import type { PassportClaims } from '../claims.js';
import type { HeadersLike } from '../headers.js';
import type { ServerResponseLike } from '../problem.js';
import { writeRefusal } from '../problem.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate, report } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

/**
 * For a plain `node:http` handler: resolves with the verified claims, or with null after calling
 * `onError` and answering 401 problem+json (503 when the keys cannot be loaded) itself. With
 * `required: false`, a request without a passport also resolves with null but nothing is answered:
 * check `res.writableEnded`.
 *
 *     const passport = nodePassport(verifier, { onError: (err) => console.warn('passport refused:', err.code) });
 *     http.createServer(async (req, res) => {
 *       const claims = await passport(req, res);
 *       if (!claims) return;
 *       ...
 *     });
 */
export function nodePassport<Req extends { headers: HeadersLike } = IncomingMessage>(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions<Req> = {},
): (req: Req, res: ServerResponseLike) => Promise<PassportClaims | null> {
  const required = options.required ?? true;
  const { onError } = options;
  return async (req, res) => {
    const result = await authenticate(verifier, req.headers, required);
    if (result.ok) return result.claims;
    report(onError, result.error, req);
    writeRefusal(res, result.refusal);
    return null;
  };
}
