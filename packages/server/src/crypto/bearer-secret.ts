import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The shared-secret check of the metrics and readiness endpoints (`metrics.bearerSecret`), on the
 * gateway's public port and the auth service's /auth/health alike.
 */

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Whether a request carries `Authorization: Bearer <secret>`; compared in constant time on SHA-256 digests (any length). */
export function bearerMatcher(secret: string): (req: IncomingMessage) => boolean {
  const want = sha256(secret);
  return (req) => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || h.length < 8 || h.slice(0, 7).toLowerCase() !== 'bearer ') return false;
    return timingSafeEqual(sha256(h.slice(7).trim()), want);
  };
}

