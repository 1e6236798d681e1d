import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, PROBLEM_CONTENT_TYPE, toProblem } from '../errors/index.js';

/** Strict-Transport-Security of every answer when the public URL is https (never on http). */
export const HSTS = 'max-age=31536000; includeSubDomains';

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

const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' };

/**
 * The raw answer to a request Node's HTTP parser refused (`clientError`): problem+json with
 * the usual headers and `Connection: close` — after a framing error nothing more on that
 * connection can be trusted. A request timeout gets Node's own bare 408.
 */
export function clientErrorResponse(parserCode: string | undefined, hsts: boolean): string {
  if (parserCode === 'ERR_HTTP_REQUEST_TIMEOUT') return 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';
  const err =
    parserCode === 'HPE_HEADER_OVERFLOW'
      ? new GatehouseError('headers_too_large', { detail: 'The request headers are larger than the gateway accepts.' })
      : parserCode === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? new GatehouseError('payload_too_large', { detail: 'The chunk extensions are too large.' })
        : new GatehouseError('invalid_request', { detail: 'The request is not valid HTTP/1.1 (malformed or ambiguous framing).' });
  const { problem } = toProblem(err);
  const body = JSON.stringify(problem);
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_TEXT[problem.status] ?? 'Bad Request'}\r\n` +
    `content-type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    'x-content-type-options: nosniff\r\ncache-control: no-store\r\n' +
    (hsts ? `strict-transport-security: ${HSTS}\r\n` : '') +
    `connection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}
