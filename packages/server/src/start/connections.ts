import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type BlockList, type Socket } from 'node:net';
import { parseTrustedProxies } from '../config/trusted-proxies.js';
import { normalizeIp } from '../credentials/client-ip.js';

/**
 * How long idle kept-alive connections stay open once a drain begins (at most a quarter of the
 * drain time): long enough for a proxy that picked one to get its answer, short enough that a
 * stop is not held by idle connections.
 */
const IDLE_GRACE_MS = 500;

/** The public server's connection settings (config `gateway.*`, docs/configuration.md). */
export interface ConnectionLimits {
  /** Time for a client to send the complete request headers (ms); then 408 and the connection is closed. */
  headersTimeoutMs: number;
  /** Time for a client to send the complete request, body included (ms); 0: no limit. */
  requestTimeoutMs: number;
  /** How long an idle kept-alive connection stays open (ms). */
  keepAliveTimeoutMs: number;
  /** Most open connections in all (0: no limit); more are closed at once, unread. */
  maxConnections: number;
  /** Most open connections from one client address (0: no limit); trusted proxies are exempt. */
  maxConnectionsPerAddress: number;
  /** `gateway.trustedProxies`: addresses exempt from the per-address cap (a load balancer is many clients). */
  trustedProxies: readonly string[];
}

/** The http.Server options of the limits (headers and request timeouts, and how often Node checks them). */
export function serverTimeoutOptions(limits: Pick<ConnectionLimits, 'headersTimeoutMs' | 'requestTimeoutMs'>): {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node cuts a late request only when it next checks (default every 30 s: a client dribbling
    // its headers held a connection ~78 s). Check often enough that the cut comes on time.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** The response a connection is serving now (set per request; read only when draining). */
const CURRENT = Symbol('gatehouse.currentResponse');
type TrackedSocket = Socket & { [CURRENT]?: ServerResponse };

export interface DrainResult {
  /** Requests still in flight when the drain began. */
  inFlight: number;
  /** Connections cut because the drain time ran out. */
  cut: number;
}

/**
 * Connection bookkeeping of one http.Server: the caps (total and per client address, refused
 * at accept time by closing the socket before anything is read) and a graceful drain for
 * SIGTERM. The per-request part is one property write and a boolean check.
 */
export class ConnectionGuard {
  /** True from the start of `drain()`: /readyz answers 503 and every answer says `Connection: close`. */
  draining = false;
  /** Connections refused by a cap since start (for tests and logs). */
  refused = 0;
  private readonly sockets = new Set<TrackedSocket>();
  private readonly perAddress = new Map<string, number>();
  private readonly exempt: BlockList | null;
  private readonly maxPerAddress: number;
  private readonly drainListeners: (() => void)[] = [];

  constructor(
    private readonly server: Server,
    limits?: Pick<ConnectionLimits, 'keepAliveTimeoutMs' | 'maxConnections' | 'maxConnectionsPerAddress' | 'trustedProxies'>,
  ) {
    this.maxPerAddress = limits?.maxConnectionsPerAddress ?? 0;
    this.exempt = limits && limits.trustedProxies.length > 0 ? parseTrustedProxies(limits.trustedProxies) : null;
    if (limits !== undefined) {
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      // Node closes a connection over this at once, before reading it ('drop' event).
      if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
      server.on('drop', () => {
        this.refused++;
      });
    }
    server.on('connection', this.onConnection);
  }

  /** Wraps the server's request handler (the gateway's hot path): remembers the response, closes after it when draining. */
  wrap(handler: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      this.track(req, res);
      handler(req, res);
    };
  }

  /** The same as a `request` listener placed before the server's own (Fastify's). */
  readonly track = (req: IncomingMessage, res: ServerResponse): void => {
    (req.socket as TrackedSocket)[CURRENT] = res;
    if (this.draining) res.setHeader('connection', 'close');
  };

  /** Runs `listener` when a drain begins (the gateway closes its WebSockets then). */
  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  /** Open connections now. */
  get connections(): number {
    return this.sockets.size;
  }

  private readonly onConnection = (socket: TrackedSocket): void => {
    if (this.maxPerAddress > 0) {
      const ip = normalizeIp(socket.remoteAddress ?? '');
      if (ip !== '' && !(this.exempt?.check(ip, ip.indexOf(':') >= 0 ? 'ipv6' : 'ipv4') ?? false)) {
        const n = this.perAddress.get(ip) ?? 0;
        if (n >= this.maxPerAddress) {
          this.refused++;
          socket.destroy();
          return;
        }
        this.perAddress.set(ip, n + 1);
        socket.once('close', () => {
          const left = (this.perAddress.get(ip) ?? 1) - 1;
          if (left <= 0) this.perAddress.delete(ip);
          else this.perAddress.set(ip, left);
        });
      }
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  };

  /**
   * Graceful stop: the listener stops accepting, idle kept-alive connections close, requests in
   * flight (slow uploads included) go on and their answers say `Connection: close`, so each
   * connection closes after its last answer. Resolves when every connection is closed, or after
   * `drainMs`, when what is left is cut.
   */
  async drain(drainMs: number): Promise<DrainResult> {
    this.draining = true;
    for (const l of this.drainListeners) l();
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      // net.Server's close, not http.Server's: since Node 19 the latter also closes every idle
      // kept-alive connection at once, and a proxy (nginx) may be writing a request on one at
      // that very moment; it retries a GET elsewhere but never a POST it has written (502).
      NetServer.prototype.close.call(this.server, () => resolve());
    });
    let inFlight = 0;
    for (const socket of this.sockets) {
      const res = socket[CURRENT];
      if (res === undefined || res.writableEnded) continue;
      inFlight++;
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    // Idle kept-alive connections get a short grace: a request arriving on one is served with
    // `Connection: close`, so the client learns of the stop from an answer instead of a reset.
    // Then idle ones are closed as they appear (a connection whose answer started before the
    // drain, without `Connection: close`, becomes idle when it ends).
    let sweep: NodeJS.Timeout | undefined;
    const grace = setTimeout(() => {
      this.server.closeIdleConnections();
      sweep = setInterval(() => this.server.closeIdleConnections(), 50);
    }, Math.min(IDLE_GRACE_MS, drainMs / 4));
    let timer: NodeJS.Timeout | undefined;
    const outOfTime = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), drainMs);
    });
    const timedOut = await Promise.race([closed.then(() => false), outOfTime]);
    clearTimeout(grace);
    clearInterval(sweep);
    clearTimeout(timer);
    let cut = 0;
    if (timedOut) {
      cut = this.sockets.size;
      this.server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
      await closed;
    }
    return { inFlight, cut };
  }
}
