import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { isHttps } from '../../../config/issuer.js';
import type { GatehouseConfig } from '../../../config/types.js';
import { GatehouseError } from '../../../errors/index.js';
import type { Logger } from '../../../util/logger.js';
import type { Exchange } from '../../exchange.js';
import type { StripRules } from '../headers.js';
import { relayedResponseHeaders, type DroppedResponseHeader, type ResponseDropListener } from '../respond/relay.js';
import { HSTS, sendProblem } from '../respond/respond.js';
import { REVOKED_HEADER } from '../../../credentials/revocation.js';
import type { LiveConnection, LiveConnections, LiveEnd, LiveTarget } from '../../live-connections.js';
import type { GrantGate } from './grant-budget.js';

/** What the proxy reports per call (metrics); kept to a counter and a histogram observation. */
export interface ProxyObserver {
  upstreamAnswered(ex: Exchange, status: number, seconds: number): void;
  gatewayAnswered(ex: Exchange, status: number, code: string): void;
  /** The auth service's 2xx answer named the revocations it took (REVOKED_HEADER), before it is relayed. */
  authRevoked?(ex: Exchange, header: string): void;
  /** A header the upstream must not send to clients was dropped from its answer (rare). */
  upstreamHeaderDropped(ex: Exchange, kind: DroppedResponseHeader, name: string): void;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

class ClientGoneError extends Error {
  constructor() {
    super('client went away');
    this.name = 'ClientGoneError';
  }
}

/**
 * Counts a body of unknown length while it streams and fails it past the limit (413). Only
 * chunked bodies pass through here; a Content-Length body is checked before the call and its
 * length is enforced by the HTTP parser.
 */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly call: ProxyCall,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.call.bodyTooLarge = true;
      cb(new GatehouseError('payload_too_large', { detail: `The request body is larger than ${this.limit} bytes.` }));
      return;
    }
    cb(null, chunk);
  }
}

function noop(): void {}

/** Whether a Content-Type is `text/event-stream` (server-sent events). */
function isEventStream(type: unknown): boolean {
  return typeof type === 'string' && type.trimStart().toLowerCase().startsWith('text/event-stream');
}

/** Where `name` sits in a flat `[name, value, ...]` header list (names lower-case), or -1. */
function indexOfHeader(list: readonly (string | string[])[], name: string): number {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return i;
  return -1;
}

/** Sets `name` in a flat header list, replacing any value it had. */
function setHeader(list: (string | string[])[], name: string, value: string): void {
  const i = indexOfHeader(list, name);
  if (i < 0) list.push(name, value);
  else list[i + 1] = value;
}

/** Content-Length bodies up to this size are read whole before the upstream call (the default body limit is 64 KiB). */
const BUFFERED_BODY_MAX = 64 * 1024;

/**
 * One proxied request as an undici dispatch handler: streams the upstream answer straight into
 * the client response with backpressure, strips hop-by-hop response headers, maps failures to
 * 502/504 problem+json, and aborts the upstream call when the client goes away.
 */
class ProxyCall implements Dispatcher.DispatchHandler, ResponseDropListener, LiveTarget {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  bodyTooLarge = false;
  /** Registered for live revocation: a streaming answer of a signed-in request (null for all others). */
  private live: LiveConnection | null = null;
  /** The registered stream is server-sent events. */
  private sse = false;

  constructor(
    private readonly ex: Exchange,
    private readonly proxy: Proxy,
  ) {
    // 'close' comes once per response: `on` spares the per-request wrapper `once` builds.
    ex.res.on('close', () => this.onClientClose());
  }

  private onClientClose(): void {
    if (this.live !== null) this.unlive();
    if (this.settled) return;
    this.settled = true;
    this.controller?.abort(new ClientGoneError());
  }

  private unlive(): void {
    this.proxy.live!.remove(this.live!);
    this.live = null;
  }

  /**
   * Live revocation of a streaming answer (live-connections.ts): the upstream call is aborted and
   * the answer ended. Server-sent events end cleanly (an EventSource reconnects and meets the
   * refusal); any other stream is cut, since a clean end of a body without length would pass for
   * a complete download. A drain ends only event streams; downloads may finish within it.
   */
  endLive(why: LiveEnd): void {
    const res = this.ex.res;
    const sse = this.sse;
    if (why === 'going_away' && !sse) return;
    if (this.live !== null) this.unlive();
    if (this.settled) return;
    this.settled = true;
    this.controller?.abort(new ClientGoneError());
    if (sse) res.end();
    else res.destroy();
  }

  /** Made on the first backpressure only (most answers never need it). */
  private onDrain: (() => void) | null = null;

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new ClientGoneError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200 || this.settled) return;
    const res = this.ex.res;
    this.proxy.observer.upstreamAnswered(this.ex, statusCode, (performance.now() - this.ex.startedAt) / 1000);
    // Only the auth service's word counts, and only on success; the header is never relayed.
    if (this.ex.route.authService && statusCode < 300) {
      const revoked = headers[REVOKED_HEADER];
      if (typeof revoked === 'string') this.proxy.observer.authRevoked?.(this.ex, revoked);
    }
    // Only the auth service's own routes may set Gatehouse cookies (sign-in, sign-out, device).
    const out = relayedResponseHeaders(headers, this.proxy.identityRules, this.ex.route.authService, this);
    // The gateway's own answer headers set on `res` (HSTS, CORS) lose to these in writeHead:
    // restate the ones an upstream may also send.
    if (this.proxy.hsts) setHeader(out, 'strict-transport-security', HSTS);
    if (this.proxy.corsEnabled) {
      const i = indexOfHeader(out, 'vary');
      const vary = i < 0 ? '*' : out[i + 1]!;
      if (vary !== '*') out[i + 1] = `${Array.isArray(vary) ? vary.join(', ') : vary}, Origin`;
    }
    try {
      res.writeHead(statusCode, out);
    } catch (err) {
      // A header Node refuses to send: the upstream's answer cannot be relayed.
      controller.abort(err instanceof Error ? err : new Error('bad upstream header'));
      return;
    }
    // A stream (no Content-Length: server-sent events, a long download) of a signed-in request
    // is ended when its credential is revoked or expires; answers with a length never register.
    if (headers['content-length'] === undefined && this.ex.identity !== null && statusCode !== 204 && statusCode !== 304 && this.ex.req.method !== 'HEAD') {
      const live = this.proxy.live;
      if (live !== undefined) {
        this.sse = isEventStream(headers['content-type']);
        this.live = live.add(this.ex, this);
      }
    }
  }

  headerDropped(kind: DroppedResponseHeader, name: string): void {
    this.proxy.observer.upstreamHeaderDropped(this.ex, kind, name);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    if (!this.ex.res.write(chunk)) {
      controller.pause();
      this.onDrain ??= () => this.controller?.resume();
      this.ex.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.live !== null) this.unlive();
    if (this.settled) return;
    this.settled = true;
    this.ex.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.live !== null) this.unlive();
    if (this.settled) return;
    this.settled = true;
    const { req, res } = this.ex;
    if (res.headersSent) {
      // Mid-stream failure: the only honest signal left is a cut connection.
      this.proxy.logger.debug({ err, route: this.ex.route.label }, 'upstream failed mid-answer');
      res.destroy();
      return;
    }
    const error = this.bodyTooLarge ? new GatehouseError('payload_too_large', { detail: `The request body is larger than ${this.ex.route.maxBodyBytes} bytes.` }) : mapUpstreamError(err, this.ex.route.authService);
    this.proxy.logger.debug({ err, route: this.ex.route.label }, 'upstream call failed');
    const status = sendProblem(req, res, error);
    this.proxy.observer.gatewayAnswered(this.ex, status, error.code);
  }
}

/**
 * A service that runs in the gateway's own process and takes Node's request and response as
 * they are (`gatehouse start`'s auth service: its Fastify `routing`). The request reaches it with
 * the headers the upstream would get and the answer passes the same relay rules, but with no
 * loopback hop: no request written and parsed again, no answer copied through a second socket
 * (bench/token-storm.mjs: most of what a refresh grant cost beyond the store and the signature).
 */
export type InProcessService = (req: IncomingMessage, res: ServerResponse) => void;

/** The relay side of one in-process answer: its headers pass the respond stage's rules as a proxied answer's do. */
class InProcessAnswer implements ResponseDropListener {
  constructor(
    private readonly ex: Exchange,
    private readonly proxy: Proxy,
    private readonly writeHead: ServerResponse['writeHead'],
    /** Headers the gateway itself set on the response before the call (HSTS, CORS): not the service's. */
    private readonly own: readonly string[],
  ) {}

  headerDropped(kind: DroppedResponseHeader, name: string): void {
    this.proxy.observer.upstreamHeaderDropped(this.ex, kind, name);
  }

  /** What the service's `writeHead(status, [message], [headers])` becomes (Node's implicit head included). */
  head(res: ServerResponse, statusCode: number, headers: OutgoingHttpHeaders | undefined): ServerResponse {
    const proxy = this.proxy;
    const ex = this.ex;
    const given: Record<string, string | string[] | undefined> = {};
    // Headers the service set with setHeader, then those given here (which win, as in Node); the
    // gateway's own stay on the response, where Node merges them under these as it does for a
    // proxied answer.
    for (const name of res.getHeaderNames()) {
      if (this.own.includes(name)) continue;
      given[name] = headerValue(res.getHeader(name));
      res.removeHeader(name);
    }
    if (headers !== undefined) for (const name in headers) given[name.toLowerCase()] = headerValue(headers[name]);
    if (statusCode >= 200) proxy.observer.upstreamAnswered(ex, statusCode, (performance.now() - ex.startedAt) / 1000);
    if (statusCode >= 200 && statusCode < 300) {
      const revoked = given[REVOKED_HEADER];
      if (typeof revoked === 'string') proxy.observer.authRevoked?.(ex, revoked);
    }
    const out = relayedResponseHeaders(given, proxy.identityRules, true, this);
    if (proxy.hsts) setHeader(out, 'strict-transport-security', HSTS);
    if (proxy.corsEnabled) {
      const i = indexOfHeader(out, 'vary');
      const vary = i < 0 ? '*' : out[i + 1]!;
      if (vary !== '*') out[i + 1] = `${Array.isArray(vary) ? vary.join(', ') : vary}, Origin`;
    }
    return this.writeHead.call(res, statusCode, out);
  }
}

function headerValue(v: number | string | readonly string[] | undefined): string | string[] | undefined {
  return v === undefined ? undefined : typeof v === 'number' ? String(v) : typeof v === 'string' ? v : [...v];
}

/**
 * The auth service not reachable (stopped, restarting, its host gone): DESIGN §4 says sign-in
 * and sign-up answer 503 `unavailable` then, like any store a decision needs, not 502.
 */
const AUTH_AWAY_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

export function mapUpstreamError(err: Error, authService: boolean): GatehouseError {
  const code = (err as { code?: string }).code;
  if (authService && code !== undefined && AUTH_AWAY_CODES.has(code)) {
    return new GatehouseError('unavailable', { detail: 'The auth service is not reachable; try again shortly.', headers: { 'retry-after': '1' }, cause: err });
  }
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return new GatehouseError('gateway_timeout', { detail: 'The service did not answer in time.', cause: err });
  }
  if (code === 'UND_ERR_INVALID_ARG') return new GatehouseError('invalid_request', { detail: 'The request cannot be forwarded.', cause: err });
  return new GatehouseError('bad_gateway', { detail: 'The service is not reachable.', cause: err });
}

/**
 * The proxy stage: one keep-alive undici Pool per upstream origin. The answer's headers pass
 * through the respond stage's relay rules (respond/relay.ts) on their way to the client.
 */
export class Proxy {
  private readonly pools = new Map<string, Pool>();
  /** The public URL is https: every answer carries Strict-Transport-Security. */
  readonly hsts: boolean;
  /** CORS is on: proxied answers vary by Origin. */
  readonly corsEnabled: boolean;
  /** Where streaming answers register for live revocation (set by the gateway). */
  live: LiveConnections | undefined = undefined;
  /** The auth service when it runs in this process (`gatehouse start`); undefined: over HTTP like any upstream. */
  authInProcess: InProcessService | undefined = undefined;
  /**
   * Grants held to a share of the event loop when the auth service shares it (set by the
   * gateway with authInProcess; grant-budget.ts): token grants wait there, every other proxied
   * request is counted. A released grant goes to `sendInProcess`.
   */
  grants: GrantGate<null, null> | undefined = undefined;

  constructor(
    private readonly config: GatehouseConfig,
    readonly logger: Logger,
    readonly observer: ProxyObserver,
    /** x-passport and gateway.stripHeaders: never relayed in answers either. */
    readonly identityRules: StripRules,
  ) {
    this.hsts = isHttps(config);
    this.corsEnabled = config.cors.origins.length > 0;
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      const g = this.config.gateway;
      pool = new Pool(origin, {
        connections: g.upstreamConnections,
        pipelining: 1,
        connectTimeout: g.upstreamConnectTimeoutMs,
        headersTimeout: g.upstreamHeadersTimeoutMs,
        bodyTimeout: g.upstreamBodyTimeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * Sends the request to the route's upstream and streams the answer back. A body with a
   * Content-Length up to BUFFERED_BODY_MAX is read whole first, then sent with the head in one
   * write (the upstream reads it in one go, and a slow client never holds an upstream
   * connection); a bigger or chunked body streams through as it comes.
   */
  forward(ex: Exchange, hasBody: boolean): void {
    const route = ex.route;
    if (route.authService && this.authInProcess !== undefined) {
      if (this.grants !== undefined && !this.grants.pass(ex, null, null)) return;
      this.forwardInProcess(ex, this.authInProcess);
      return;
    }
    const call = new ProxyCall(ex, this);
    if (hasBody && !ex.chunked) {
      const length = Number(ex.contentLength);
      if (length <= BUFFERED_BODY_MAX) {
        this.forwardBuffered(ex, call, length);
        return;
      }
    }
    let body: Readable | null = null;
    if (hasBody) {
      if (ex.chunked) {
        const limiter = new BodyLimit(route.maxBodyBytes, call);
        body = limiter;
        // pipe, not pipeline: a body over the limit must not destroy the client socket, which
        // still has to carry the 413.
        ex.req.on('error', (err) => limiter.destroy(err));
        ex.req.pipe(limiter);
      } else body = ex.req;
    }
    this.dispatch(ex, call, body);
  }

  /**
   * Hands the request to a service in this process: the request's headers become the upstream's
   * (strip's list; a chunked body is read from the stream by the service's content parser under
   * its own body limit, as when it came over HTTP), its URL the upstream path, and the response's
   * head passes the relay rules (InProcessAnswer). The service answers on the client's own response.
   */
  private forwardInProcess(ex: Exchange, service: InProcessService): void {
    const { req, res, route } = ex;
    const list = ex.headers;
    const headers: Record<string, string> = {};
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!;
      const had = headers[name];
      headers[name] = had === undefined ? list[i + 1]! : `${had}, ${list[i + 1]!}`;
    }
    req.headers = headers;
    req.url = route.basePath === '' ? ex.target : route.basePath + ex.target;
    const answer = new InProcessAnswer(ex, this, res.writeHead, res.getHeaderNames());
    res.writeHead = function (this: ServerResponse, statusCode: number, message?: unknown, headers?: unknown): ServerResponse {
      return answer.head(this, statusCode, (typeof message === 'string' ? headers : message) as OutgoingHttpHeaders | undefined);
    } as ServerResponse['writeHead'];
    ex.startedAt = performance.now();
    service(req, res);
  }

  /** Reads a Content-Length body (Node's parser holds it to that length) whole, then dispatches. */
  private forwardBuffered(ex: Exchange, call: ProxyCall, length: number): void {
    const req = ex.req;
    const buf = Buffer.allocUnsafe(length);
    let at = 0;
    req.on('data', (chunk: Buffer) => {
      at += chunk.copy(buf, at);
    });
    req.once('end', () => {
      // The client may have gone while it sent (ProxyCall saw 'close'): nobody to answer.
      if (ex.res.destroyed) return;
      this.dispatch(ex, call, at === length ? buf : buf.subarray(0, at));
    });
    // A client that goes away mid-body: 'close' on the response settles the call.
    req.once('error', noop);
  }

  /** A grant the budget held, released: to the auth service in this process. */
  sendInProcess(ex: Exchange): void {
    if (this.authInProcess !== undefined) this.forwardInProcess(ex, this.authInProcess);
  }

  private dispatch(ex: Exchange, call: ProxyCall, body: Readable | Buffer | null): void {
    // Counted as another request beside the grants (one increment; upstreams never get grants).
    if (this.grants !== undefined) this.grants.pass(ex, null, null);
    const route = ex.route;
    ex.startedAt = performance.now();
    this.pool(route.origin).dispatch(
      {
        method: ex.req.method as Dispatcher.HttpMethod,
        path: route.basePath === '' ? ex.target : route.basePath + ex.target,
        headers: ex.headers,
        body,
      },
      call,
    );
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(
      pools.map(async (p) => {
        // Let answers in flight finish briefly, then cut.
        const timer = setTimeout(() => void p.destroy().catch(noop), 2_000);
        try {
          await p.close();
        } catch {
          await p.destroy().catch(noop);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
