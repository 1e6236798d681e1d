import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../errors/index.js';

/** Headers every answer the gateway writes itself carries (not proxied answers). */
const BASE_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' } as const;

/**
 * Writes any thrown value as problem+json (RFC 9457) via `toProblem`: never a stack trace,
 * never internal detail on a 5xx. When the answer has already started, the only honest thing
 * left is to cut the connection. Returns the status written (0 when the socket was cut).
 */
export function sendProblem(req: IncomingMessage, res: ServerResponse, err: unknown, extraHeaders?: Record<string, string | string[]>): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  const { problem, headers } = toProblem(err);
  const body = JSON.stringify(problem);
  const out: Record<string, string | string[] | number> = {
    ...BASE_HEADERS,
    ...headers,
    ...extraHeaders,
    'content-type': PROBLEM_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
  };
  // A body we did not read: close rather than drain an unknown amount of it.
  if (!req.complete) out.connection = 'close';
  res.writeHead(problem.status, out);
  res.end(req.method === 'HEAD' ? undefined : body);
  return problem.status;
}

/** A small JSON answer written by the gateway itself (well-known documents, health). */
export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...BASE_HEADERS,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** 302 to a same-origin location (the caller guarantees it is a path). */
export function sendRedirect(res: ServerResponse, location: string, extraHeaders?: Record<string, string | string[]>): void {
  res.writeHead(302, { ...BASE_HEADERS, ...extraHeaders, location, 'content-length': 0 });
  res.end();
}
