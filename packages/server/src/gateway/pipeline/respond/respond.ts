import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatehouseError, PROBLEM_CONTENT_TYPE, toProblem } from '../../../errors/index.js';

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
  // A body we did not read: close rather than drain an unknown amount of it, but only after the
  // client had a chance to read this answer (lingerOnClose).
  if (!req.complete) {
    out.connection = 'close';
    lingerOnClose(req);
  }
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

/** After an answer to a request whose body is still coming: at most this much more of it is read (and thrown away)… */
export const LINGER_MAX_BYTES = 1024 * 1024;
/** …for at most this long before the connection is cut. */
export const LINGER_MAX_MS = 2_000;

/**
 * Closes the connection of a request answered before its body was read (413, 415, 401…) the
 * way lingering close does (RFC 9112 §9.6): the answer, then our FIN, then the rest of the body
 * read and discarded until it ends, the client goes away, LINGER_MAX_BYTES came or LINGER_MAX_MS
 * passed. Node's default for a `Connection: close` answer is to destroy the socket as soon as the
 * answer is flushed; a client still sending then gets a reset, and its kernel throws away the
 * answer it had not read yet (curl and browsers read early answers; many HTTP clients first
 * finish sending). The hook is the server's own: on that answer's finish Node calls the
 * socket's `destroySoon` (replaced here for this one socket) and otherwise leaves it alone.
 */
function lingerOnClose(req: IncomingMessage): void {
  const socket = req.socket as Socket | null;
  if (socket === null || socket.destroyed || typeof socket.destroySoon !== 'function') return;
  // Read and drop the rest of the body from now on, counting it. (Left alone, Node would "dump"
  // the request when the answer is done: read it all, unbounded, without a 'data' event.)
  let left = LINGER_MAX_BYTES;
  let lingering = false;
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0 && lingering) destroyWhenFlushed(socket);
  });
  req.on('error', noop);
  socket.destroySoon = () => {
    lingering = true;
    if (socket.writable) socket.end();
    if (req.complete || socket.destroyed || left < 0) {
      destroyWhenFlushed(socket);
      return;
    }
    const timer = setTimeout(() => socket.destroy(), LINGER_MAX_MS);
    socket.once('close', () => clearTimeout(timer));
    const done = (): void => destroyWhenFlushed(socket);
    // The body ended, or the client went away mid-body (not the socket's own 'end': with the
    // parser reading the connection it is no sign that the client stopped sending).
    req.once('end', done);
    req.once('error', done);
    req.resume();
  };
}

function noop(): void {}

/** Destroys the socket once our answer is written out (at once when it is). */
function destroyWhenFlushed(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}
