/**
 * A real WebSocket upstream (the `ws` package on node:http) for the WebSocket and streaming
 * tests, in process, end-to-end and scale-out alike. No vitest import here; every wait is bounded.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface WsUpstream {
  url: string;
  server: Server;
  /** Heads of every upgrade that reached the upstream. */
  upgrades: Array<{ url: string; headers: IncomingHttpHeaders }>;
  /** Sockets the upstream accepted, open or not. */
  sockets: WebSocket[];
  /** Close codes the upstream's sockets saw, in order. */
  closes: Array<{ code: number; reason: string }>;
  /** Open server-sent event streams (each written to every 20 ms). */
  streams: Set<ServerResponse>;
  close(): Promise<void>;
}

/**
 * The upstream: an upgrade to a path containing `/refuse` gets `404` with a JSON body; any other
 * is accepted (subprotocol: the last one the client offers; permessage-deflate when offered) and
 * echoes every message; the 101 carries a hop-by-hop header it names in `Connection`, a
 * `Keep-Alive`, an `x-passport` and `x-kept: yes`. A GET to a path containing `/sse` is an
 * event stream that never ends by itself; one containing `/slow` sends half of a 10-byte body and
 * stops; any other GET answers `ok`.
 */
export async function startWsUpstream(): Promise<WsUpstream> {
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if ((req.url ?? '').includes('/sse')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: hello\n\n');
      streams.add(res);
      const timer = setInterval(() => res.write('data: tick\n\n'), 20);
      res.on('close', () => {
        clearInterval(timer);
        streams.delete(res);
      });
      return;
    }
    if ((req.url ?? '').includes('/slow')) {
      // A long answer with a length: half of it now, the rest when the client has gone.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '10' });
      res.write('12345');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: true,
    handleProtocols: (protocols) => [...protocols].at(-1) ?? false,
  });
  const up: WsUpstream = {
    url: '',
    server,
    upgrades: [],
    sockets: [],
    closes: [],
    streams,
    close: async () => {
      for (const s of up.sockets) s.terminate();
      for (const r of streams) r.destroy();
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  wss.on('headers', (headers: string[]) => {
    const i = headers.findIndex((h) => /^connection:/i.test(h));
    if (i >= 0) headers[i] = 'Connection: Upgrade, X-Hop-Named';
    headers.push('X-Hop-Named: drop me', 'Keep-Alive: timeout=5', 'X-Passport: forged', 'X-Kept: yes');
  });
  wss.on('connection', (ws: WebSocket) => {
    up.sockets.push(ws);
    ws.on('message', (data: RawData, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code: number, reason: Buffer) => up.closes.push({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  });
  server.on('upgrade', (req, socket, head) => {
    up.upgrades.push({ url: req.url ?? '', headers: req.headers });
    if ((req.url ?? '').includes('/refuse')) {
      const body = '{"nope":true}';
      socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nx-upstream: refused\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

/** An opened socket (status 101, empty body and headers) or a refused upgrade's answer. */
export interface Opened {
  ws: WebSocket;
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/** Opens a WebSocket to `url` (http:// is turned into ws://); resolves once it is open or refused (with the status and body). */
export function openWs(url: string, options: { headers?: Record<string, string>; protocols?: string[]; perMessageDeflate?: boolean } = {}): Promise<Opened> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), options.protocols ?? [], {
    headers: options.headers ?? {},
    perMessageDeflate: options.perMessageDeflate ?? false,
    handshakeTimeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, status: 101, body: '', headers: {} }));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ ws, status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    ws.once('error', reject);
  });
}

/** The next message of `ws` as text (bounded wait). */
export function nextMessage(ws: WebSocket, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message in time')), ms);
    ws.once('message', (data: RawData) => {
      clearTimeout(t);
      resolve(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8'));
    });
  });
}

/** Resolves with the close code and reason of `ws` (bounded wait; rejects when it stays open). */
export function closed(ws: WebSocket, ms = 10_000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed before waiting'));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('the socket stayed open')), ms);
    ws.once('close', (code: number, reason: Buffer) => {
      clearTimeout(t);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** Waits until `check` holds (bounded). */
export async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
