import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../../../util/logger.js';
import type { Exchange } from '../../exchange.js';
import type { LiveConnection, LiveConnections, LiveEnd, LiveTarget } from '../../live-connections.js';
import type { StripRules } from '../headers.js';
import { relayedResponseHeaders, type DroppedResponseHeader, type ResponseDropListener } from '../respond/relay.js';
import { HSTS, sendProblem } from '../respond/respond.js';
import { mapUpstreamError, type ProxyObserver } from './proxy.js';
import { CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION, FrameTracker, closeFrame } from './ws-frames.js';

/** The largest head of an upstream's answer to an upgrade (the public server's own limit for requests). */
export const UPGRADE_MAX_HEADER_BYTES = 16 * 1024;
/** How long a closing WebSocket waits for the frame in flight to end and for the sockets to close (ms). */
const CLOSE_GRACE_MS = 2_000;

/** What the upgrade proxy needs; built once per gateway. */
export interface UpgradeOptions {
  logger: Logger;
  observer: ProxyObserver;
  identityRules: StripRules;
  hsts: boolean;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** `gateway.websocketIdleTimeoutMs`: a WebSocket with no byte either way for this long is closed (1001); 0: never. */
  idleTimeoutMs: number;
  live: LiveConnections;
}

/** The reason sent in the close frame for each way a connection is ended. */
const END_FRAMES: Record<LiveEnd | 'idle', { code: number; reason: string }> = {
  revoked: { code: CLOSE_POLICY_VIOLATION, reason: 'credential revoked' },
  expired: { code: CLOSE_POLICY_VIOLATION, reason: 'credential expired' },
  going_away: { code: CLOSE_GOING_AWAY, reason: 'gateway stopping' },
  idle: { code: CLOSE_GOING_AWAY, reason: 'idle timeout' },
};

/**
 * The proxy stage for a WebSocket upgrade (`Exchange.upgrade` set): the upgrade request, with the
 * headers strip built (hop-by-hop ones dropped, the passport added) plus `Connection: Upgrade`
 * and the client's `Upgrade`, goes to the route's upstream on a connection of its own
 * (node:http: its `upgrade` event hands over the socket after a 101, and any other answer comes
 * as an ordinary response whose status and body are relayed, which undici's `upgrade` API
 * cannot do: it fails on anything but 101). A 101 is relayed with the upstream's headers under
 * the relay rules (hop-by-hop ones dropped, then `Connection: Upgrade` and `Upgrade` restated),
 * so `Sec-WebSocket-Accept`, `-Protocol` and `-Extensions` pass through; then bytes flow both
 * ways (WsRelay).
 */
export class UpgradeProxy {
  constructor(private readonly opts: UpgradeOptions) {}

  forward(ex: Exchange): void {
    const route = ex.route;
    const url = new URL(route.origin);
    const headers = ex.headers;
    headers.push('connection', 'Upgrade', 'upgrade', ex.upgradeProtocol);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    ex.startedAt = performance.now();
    let up: ClientRequest;
    try {
      up = send({
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        method: 'GET',
        path: route.basePath === '' ? ex.target : route.basePath + ex.target,
        headers,
        agent: false,
        maxHeaderSize: UPGRADE_MAX_HEADER_BYTES,
        timeout: this.opts.connectTimeoutMs,
      });
    } catch (err) {
      this.failed(ex, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let done = false;
    // Until the upstream answers: no answer in time is a 504, the client leaving aborts.
    const answerTimer = setTimeout(() => {
      if (!done) up.destroy(Object.assign(new Error('upstream did not answer the upgrade'), { code: 'UND_ERR_HEADERS_TIMEOUT' }));
    }, this.opts.headersTimeoutMs);
    const clientGone = (): void => {
      if (!done) up.destroy();
    };
    ex.res.once('close', clientGone);
    up.on('socket', (s: Socket) => {
      s.once('connect', () => up.setTimeout(0));
    });
    up.on('timeout', () => up.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
    up.on('error', (err) => {
      if (done) return;
      done = true;
      clearTimeout(answerTimer);
      this.failed(ex, err);
    });
    up.on('response', (answer: IncomingMessage) => {
      done = true;
      clearTimeout(answerTimer);
      this.relayRefusal(ex, answer);
    });
    up.on('upgrade', (answer: IncomingMessage, upstream: Socket, head: Buffer) => {
      done = true;
      clearTimeout(answerTimer);
      ex.res.removeListener('close', clientGone);
      this.relaySwitch(ex, answer, upstream, head);
    });
    up.end();
  }

  /** The upstream could not be reached or failed before answering: 502/503/504 problem+json. */
  private failed(ex: Exchange, err: Error): void {
    const error = mapUpstreamError(err, ex.route.authService);
    this.opts.logger.debug({ err, route: ex.route.label }, 'upstream upgrade failed');
    const status = sendProblem(ex.req, ex.res, error);
    this.opts.observer.gatewayAnswered(ex, status, error.code);
  }

  /** The upstream answered the upgrade with something else than 101 (404, 401, 426...): relayed as it is. */
  private relayRefusal(ex: Exchange, answer: IncomingMessage): void {
    const res = ex.res;
    const status = answer.statusCode ?? 502;
    this.opts.observer.upstreamAnswered(ex, status, (performance.now() - ex.startedAt) / 1000);
    if (res.destroyed) {
      answer.destroy();
      return;
    }
    const out = relayedResponseHeaders(answer.headers, this.opts.identityRules, ex.route.authService, new DropReport(this.opts.observer, ex));
    if (this.opts.hsts) out.push('strict-transport-security', HSTS);
    try {
      res.writeHead(status, out);
    } catch (err) {
      answer.destroy();
      this.failed(ex, err instanceof Error ? err : new Error('bad upstream header'));
      return;
    }
    answer.pipe(res);
    answer.once('error', () => res.destroy());
  }

  /** 101: the head relayed on the client's socket, then bytes both ways. */
  private relaySwitch(ex: Exchange, answer: IncomingMessage, upstream: Socket, upstreamHead: Buffer): void {
    const res = ex.res;
    const client = res.socket;
    this.opts.observer.upstreamAnswered(ex, 101, (performance.now() - ex.startedAt) / 1000);
    if (client === null || res.destroyed || client.destroyed) {
      upstream.destroy();
      return;
    }
    const upgrade = answer.headers.upgrade;
    if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== ex.upgradeProtocol.toLowerCase()) {
      upstream.destroy();
      this.failed(ex, new Error(`upstream switched to ${String(upgrade)}`));
      return;
    }
    const out = relayedResponseHeaders(answer.headers, this.opts.identityRules, ex.route.authService, new DropReport(this.opts.observer, ex));
    let head = 'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ' + upgrade + '\r\n';
    if (this.opts.hsts) head += `strict-transport-security: ${HSTS}\r\n`;
    for (let i = 0; i < out.length; i += 2) {
      const v = out[i + 1]!;
      // The gateway's own HSTS stands (as proxy.ts restates it on ordinary answers).
      if (this.opts.hsts && out[i] === 'strict-transport-security') continue;
      // Node's parser refused CR, LF and NUL in the upstream's values already.
      if (Array.isArray(v)) for (const one of v) head += `${out[i] as string}: ${one}\r\n`;
      else head += `${out[i] as string}: ${v}\r\n`;
    }
    // The client's socket leaves the ServerResponse that answered nothing; the access log sees 101.
    res.statusCode = 101;
    res.detachSocket(client);
    client.write(head + '\r\n');
    const relay = new WsRelay(client, upstream, this.opts.idleTimeoutMs);
    relay.live = this.opts.live.add(ex, relay);
    relay.onClosed = (): void => {
      if (relay.live !== null) this.opts.live.remove(relay.live);
    };
    relay.start(upstreamHead, ex.upgrade!);
  }
}

/** Reports dropped answer headers of one upgrade to the observer (metrics, log once per route). */
class DropReport implements ResponseDropListener {
  constructor(
    private readonly observer: ProxyObserver,
    private readonly ex: Exchange,
  ) {}
  headerDropped(kind: DroppedResponseHeader, name: string): void {
    this.observer.upstreamHeaderDropped(this.ex, kind, name);
  }
}

/**
 * Relays the bytes of one WebSocket both ways with backpressure, and closes it cleanly when
 * asked (revocation, expiry, drain, idle): each direction waits for the frame in flight to end
 * (FrameTracker), then the client gets a close frame (unmasked) and the upstream one (masked,
 * the gateway being its client), both with the code and reason, and both sockets are ended; any
 * socket still open after CLOSE_GRACE_MS is destroyed.
 */
export class WsRelay implements LiveTarget {
  private readonly toClient = new FrameTracker();
  private readonly toUpstream = new FrameTracker();
  private closing: { code: number; reason: string } | null = null;
  private clientDone = false;
  private upstreamDone = false;
  private grace: NodeJS.Timeout | undefined;
  private closedCount = 0;
  live: LiveConnection | null = null;
  onClosed: (() => void) | null = null;

  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly idleTimeoutMs: number,
  ) {}

  start(upstreamHead: Buffer, clientHead: Buffer): void {
    const { client, upstream } = this;
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.fromClient(chunk));
    upstream.on('data', (chunk: Buffer) => this.fromUpstream(chunk));
    client.on('drain', () => upstream.resume());
    upstream.on('drain', () => client.resume());
    // One side ending its half: the other is told; either closing takes the other with it.
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => this.sideClosed(upstream));
    upstream.on('close', () => this.sideClosed(client));
    if (this.idleTimeoutMs > 0) {
      client.setTimeout(this.idleTimeoutMs, () => this.close('idle'));
    }
    if (upstreamHead.length > 0) this.fromUpstream(upstreamHead);
    if (clientHead.length > 0) this.fromClient(clientHead);
    client.resume();
    upstream.resume();
  }

  endLive(why: LiveEnd): void {
    this.close(why);
  }

  /** Closes with the code and reason of `why`, each direction at its next frame boundary. */
  close(why: LiveEnd | 'idle'): void {
    if (this.closing !== null) return;
    this.closing = END_FRAMES[why];
    if (this.toClient.atBoundary) this.closeClient();
    if (this.toUpstream.atBoundary) this.closeUpstream();
    this.grace = setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, CLOSE_GRACE_MS);
    this.grace.unref();
  }

  private fromUpstream(chunk: Buffer): void {
    if (this.clientDone) return;
    if (this.closing !== null) {
      const at = this.toClient.scan(chunk, 0, true);
      if (at > 0) this.client.write(at === chunk.length ? chunk : chunk.subarray(0, at));
      if (this.toClient.atBoundary) this.closeClient();
      return;
    }
    this.toClient.scan(chunk);
    if (!this.client.write(chunk)) this.upstream.pause();
  }

  private fromClient(chunk: Buffer): void {
    if (this.upstreamDone) return;
    if (this.closing !== null) {
      const at = this.toUpstream.scan(chunk, 0, true);
      if (at > 0) this.upstream.write(at === chunk.length ? chunk : chunk.subarray(0, at));
      if (this.toUpstream.atBoundary) this.closeUpstream();
      return;
    }
    this.toUpstream.scan(chunk);
    if (!this.upstream.write(chunk)) this.client.pause();
  }

  private closeClient(): void {
    if (this.clientDone) return;
    this.clientDone = true;
    const c = this.closing!;
    this.client.resume();
    if (!this.client.destroyed) this.client.end(closeFrame(c.code, c.reason, false));
  }

  private closeUpstream(): void {
    if (this.upstreamDone) return;
    this.upstreamDone = true;
    const c = this.closing!;
    this.upstream.resume();
    if (!this.upstream.destroyed) this.upstream.end(closeFrame(c.code, c.reason, true));
  }

  private sideClosed(other: Socket): void {
    // The other side follows once its pending writes (a close frame) are out.
    if (this.closing === null) other.end();
    if (++this.closedCount < 2) {
      // A socket that never closes (a peer that ignores the FIN) is cut after the grace.
      if (this.grace === undefined) {
        this.grace = setTimeout(() => other.destroy(), CLOSE_GRACE_MS);
        this.grace.unref();
      }
      if (this.live !== null) {
        this.onClosed?.();
        this.live = null;
      }
      return;
    }
    clearTimeout(this.grace);
    if (this.live !== null) {
      this.onClosed?.();
      this.live = null;
    }
  }
}
