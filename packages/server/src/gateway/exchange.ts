import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from './pipeline/authenticate/types.js';
import type { CompiledRoute } from './routing.js';

/** Stands for a header sent more than once where only one makes sense (never equals a real value). */
export const DUPLICATE = '\u0000duplicate';

/**
 * Per-request state of a routed request, filled stage by stage: strip reads the headers once
 * (from `rawHeaders`) into these fields, authenticate sets `identity`, proxy streams. One
 * object per request instead of closures and intermediate maps.
 */
export class Exchange {
  /** Headers for the upstream, flat [name, value, ...] with lower-case names. */
  headers: string[] = [];
  authorization: string | undefined = undefined;
  /** The `gatehouse_session` cookie; DUPLICATE when sent with different values. */
  sessionCookie: string | undefined = undefined;
  contentType: string | undefined = undefined;
  /** Content-Length as sent; DUPLICATE when sent more than once. */
  contentLength: string | undefined = undefined;
  /** A Transfer-Encoding header came: the body's length is unknown up front. */
  chunked = false;
  origin: string | undefined = undefined;
  secFetchSite: string | undefined = undefined;
  /** `Access-Control-Request-Method`: with an Origin on OPTIONS, a CORS preflight. */
  preflightMethod: string | undefined = undefined;
  /** The client address resolved by the trusted-proxy rules (sent upstream as x-gatehouse-client-ip). */
  clientIp = '';
  csrfToken: string | undefined = undefined;
  accept: string | undefined = undefined;
  identity: Identity | null = null;
  /** Start of the upstream call (performance.now()). */
  startedAt = 0;
  /**
   * A WebSocket upgrade (the 'upgrade' event of the server, gateway.ts): the bytes that came
   * after its head (usually none); undefined for an ordinary request.
   */
  upgrade: Buffer | undefined = undefined;
  /** The client's `Upgrade` value of a WebSocket upgrade, as sent. */
  upgradeProtocol = '';

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly route: CompiledRoute,
    /** The raw request target (path and query), as forwarded. */
    readonly target: string,
  ) {}
}
