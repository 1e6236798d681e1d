import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../util/logger.js';

/** Longest path and request id written to a line (the rest is cut: they come from the client). */
const MAX_PATH = 256;
const REQUEST_ID_RE = /^[\w.:@/+=-]{1,128}$/;

/** Refusals an operator wants to see without debug logging (DESIGN §6): logged at info with their code. */
const LOGGED_REFUSALS = new Set([401, 403, 429, 503]);

/** Whether a refusal with this status is logged at info (others, 400/404/405…, at debug). */
export function isLoggedRefusal(status: number): boolean {
  return LOGGED_REFUSALS.has(status);
}

/** The path of a request target without its query (which may carry secrets), cut to MAX_PATH. */
export function pathOnly(target: string | undefined): string {
  const t = target ?? '';
  const q = t.indexOf('?');
  const p = q < 0 ? t : t.slice(0, q);
  return p.length > MAX_PATH ? `${p.slice(0, MAX_PATH)}…` : p;
}

/** What the gateway learnt of a request while handling it (route label, signed-in user). */
export interface AccessInfo {
  route: string | undefined;
  userId: string | undefined;
}

/**
 * `log.access`: one info line per gateway request, written when the answer is done (or the
 * connection closed first): method, path (never the query), route label, status, duration in
 * ms, user id and the client's `x-request-id`. Never headers, cookies or tokens. Built only when
 * the key is on, so the hot path with it off costs one boolean check.
 */
export class AccessLog {
  private readonly info = new WeakMap<ServerResponse, AccessInfo>();
  constructor(private readonly logger: Logger) {}

  /** Starts timing a request; its line is written when the response closes. */
  begin(req: IncomingMessage, res: ServerResponse): void {
    const start = performance.now();
    res.once('close', () => {
      const seen = this.info.get(res);
      const rid = req.headers['x-request-id'];
      this.logger.info(
        {
          event: 'http.access',
          method: req.method,
          path: pathOnly(req.url),
          route: seen?.route ?? '(unmatched)',
          status: res.statusCode,
          durationMs: Math.round((performance.now() - start) * 10) / 10,
          ...(seen?.userId !== undefined ? { userId: seen.userId } : {}),
          ...(typeof rid === 'string' && REQUEST_ID_RE.test(rid) ? { requestId: rid } : {}),
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
    });
  }

  /** Records the route (and later the user) of a request being handled. */
  note(res: ServerResponse, route: string, userId?: string): void {
    const seen = this.info.get(res);
    if (seen === undefined) this.info.set(res, { route, userId });
    else {
      seen.route = route;
      if (userId !== undefined) seen.userId = userId;
    }
  }
}
