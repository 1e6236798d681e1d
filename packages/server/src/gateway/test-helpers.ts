/**
 * Test harness for the gateway: real SQLite stores in a temp dir, a ManualClock, the
 * in-process feed, a real keyring, the gateway on a real node:http server on 127.0.0.1, and
 * real node:http echo upstreams that record what they got. No vitest import here.
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { createTestDeps } from '../auth/test-helpers.js';
import { issuerOf } from '../config/issuer.js';
import type { GatehouseConfig, RouteConfig } from '../config/types.js';
import type { Deps } from '../context.js';
import { hashSecret, randomId, randomSecret } from '../crypto/secrets.js';
import type { SessionRecord, UserRecord } from '../stores/types.js';
import { ManualClock } from '../util/clock.js';
import { createGateway, type Gateway } from './gateway.js';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface EchoServer {
  url: string;
  server: Server;
  received: Recorded[];
  /** Replaces the default answer (200 JSON `{ok:true}`) after the body was read. */
  respond: ((rec: Recorded, res: ServerResponse) => void) | null;
  /** Requests whose head arrived (counted before their body ends). */
  started: number;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** An upstream that records method, url, headers and body of every request. */
export async function startEcho(): Promise<EchoServer> {
  const echo: EchoServer = {
    url: '',
    received: [],
    respond: null,
    started: 0,
    server: createServer((req: IncomingMessage, res: ServerResponse) => {
      echo.started++;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => {});
      req.on('end', () => {
        const rec: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString('utf8') };
        echo.received.push(rec);
        if (echo.respond) return echo.respond(rec, res);
        const body = JSON.stringify({ ok: true });
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'], 'x-upstream': 'echo', 'keep-alive': 'timeout=5', 'x-hop': 'drop me', connection: 'x-hop' });
        res.end(body);
      });
    }),
    close: () => closeServer(echo.server),
  };
  echo.url = await listen(echo.server);
  return echo;
}

/** A port nothing listens on (for "upstream down"). */
export async function deadUrl(): Promise<string> {
  const s = createServer();
  const url = await listen(s);
  await closeServer(s);
  return url;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SendOptions {
  method?: string;
  /** Raw header pairs, sent exactly (duplicates and case kept). */
  headers?: Array<[string, string]>;
  body?: string;
  /** Body written in several chunks without Content-Length (chunked). */
  chunks?: string[];
}

/** A raw HTTP/1.1 request on a fresh connection. */
export function send(base: string, path: string, opts: SendOptions = {}): Promise<Reply> {
  const u = new URL(base);
  // With raw header arrays Node adds no Host by itself; a test that sends its own Host gets only that one.
  const raw: string[] = (opts.headers ?? []).some(([k]) => k.toLowerCase() === 'host') ? [] : ['Host', u.host];
  for (const [k, v] of opts.headers ?? []) raw.push(k, v);
  if (opts.body !== undefined && !(opts.headers ?? []).some(([k]) => k.toLowerCase() === 'content-length')) raw.push('Content-Length', String(Buffer.byteLength(opts.body)));
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: opts.method ?? 'GET', path, headers: raw as unknown as Record<string, string>, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(opts.body);
  });
}

export interface SignedIn {
  user: UserRecord;
  session: SessionRecord;
  secret: string;
  /** `gatehouse_session=<secret>` */
  cookie: string;
}

export interface GatewayHarness {
  deps: Deps;
  clock: ManualClock;
  url: string;
  gateway: Gateway;
  upstream: EchoServer;
  auth: EchoServer;
  /** Arguments of every `sessions.touch` call (the real store is still called). */
  touches: Array<[string, number, number]>;
  /** Store reads by token hash (to show the hot path makes none). */
  sessionReads: { count: number };
  createUser(username: string, roles?: string[]): Promise<UserRecord>;
  signIn(user: UserRecord, opts?: { persistent?: boolean; deviceId?: string; amr?: string[] }): Promise<SignedIn>;
  /** Verifies a forwarded passport the way a service would (typ, iss, aud, EdDSA). */
  verifyPassport(token: string, audience: string): Promise<JWTPayload>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra routes, given the echo upstream's URL. */
  routes?: (upstream: string) => RouteConfig[];
  config?: (config: GatehouseConfig) => void;
  publicDir?: string;
  /** Changes the deps before the gateway is built on them (e.g. a pending-revocation store). */
  deps?: (deps: Deps) => void;
  /** Whether the process is stopping (GatewayOptions.draining). */
  draining?: () => boolean;
}

export async function createGatewayHarness(options: HarnessOptions = {}): Promise<GatewayHarness> {
  // Every abuse limit as shipped; the public URL is the server's own once it listens.
  const { deps, clock, close: closeDeps } = await createTestDeps({ publicUrl: null, abuseLimits: 'defaults', ...(options.config ? { config: options.config } : {}) });
  const { config, stores, keyring } = deps;

  const touches: Array<[string, number, number]> = [];
  const sessionReads = { count: 0 };
  const sessions = stores.sessions;
  const realTouch = sessions.touch.bind(sessions);
  sessions.touch = (id, lastSeenAt, expiresAt) => {
    touches.push([id, lastSeenAt, expiresAt]);
    return realTouch(id, lastSeenAt, expiresAt);
  };
  const realFind = sessions.getWithUser.bind(sessions);
  sessions.getWithUser = (h) => {
    sessionReads.count++;
    return realFind(h);
  };

  const upstream = await startEcho();
  const auth = await startEcho();
  // As start-all.ts builds it.
  const server = createServer({ maxHeaderSize: 16 * 1024 });
  const url = await listen(server);
  // A test may set an https publicUrl (cookie names, HSTS) while the gateway serves http here,
  // reached by its local address as behind a TLS-terminating proxy that keeps the Host.
  config.publicUrl ??= url;
  options.deps?.(deps);
  if (config.publicUrl !== url) config.gateway.allowedHosts.push(new URL(url).host);
  const gateway = createGateway(deps, {
    authUrl: auth.url,
    routes: options.routes?.(upstream.url) ?? [],
    ...(options.publicDir ? { publicDir: options.publicDir } : {}),
    ...(options.draining ? { draining: options.draining } : {}),
  });
  server.on('request', gateway.handler);
  server.on('upgrade', gateway.upgrade);
  server.on('clientError', gateway.clientError);

  return {
    deps,
    clock,
    url,
    gateway,
    upstream,
    auth,
    touches,
    sessionReads,
    async createUser(username, roles = []) {
      const now = clock.now();
      const user: UserRecord = { id: randomId(), username, usernameCanonical: username.toLowerCase(), passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y', roles, createdAt: now, updatedAt: now, disabledAt: null, passwordChangeRequired: false };
      await stores.users.create(user);
      return user;
    },
    async signIn(user, opts = {}) {
      const now = clock.now();
      const secret = randomSecret();
      const persistent = opts.persistent ?? true;
      const ttl = persistent ? config.session.slidingTtlSec : config.session.browserSessionTtlSec;
      const session: SessionRecord = {
        id: randomId(),
        tokenHash: hashSecret(secret),
        userId: user.id,
        deviceId: opts.deviceId ?? randomId(),
        deviceName: null,
        csrfToken: randomSecret(),
        persistent,
        createdAt: now,
        lastSeenAt: now,
        expiresAt: now + ttl * 1000,
        absoluteExpiresAt: now + config.session.absoluteTtlSec * 1000,
        amr: opts.amr ?? ['pwd'],
        authTime: now,
      };
      await stores.sessions.createReplacingDevice(session);
      return { user, session, secret, cookie: `gatehouse_session=${secret}` };
    },
    async verifyPassport(token, audience) {
      const { payload } = await jwtVerify(token, createLocalJWKSet(keyring.jwks()), {
        typ: 'passport+jwt',
        issuer: issuerOf(config),
        audience,
        algorithms: ['EdDSA'],
        currentDate: new Date(clock.now()),
      });
      return payload;
    },
    async close() {
      await gateway.close();
      await closeServer(server);
      await upstream.close();
      await auth.close();
      await closeDeps();
    },
  };
}

/** What the upstream (or the stand-in auth service) received last; throws when it received nothing. */
export function lastReceived(h: GatewayHarness, which: 'upstream' | 'auth' = 'upstream'): Recorded {
  const r = h[which].received.at(-1);
  if (!r) throw new Error(which === 'upstream' ? 'the upstream received nothing' : 'the auth service received nothing');
  return r;
}

/** Every value of a header name (any case) in a recorded request, in the order it came. */
export function rawValues(rec: Recorded, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) if (rec.rawHeaders[i]!.toLowerCase() === name) out.push(rec.rawHeaders[i + 1]!);
  return out;
}

/** Forgets what both stand-ins received and how a test told them to answer (a beforeEach). */
export function resetRecorders(h: GatewayHarness): void {
  h.upstream.received.length = 0;
  h.auth.received.length = 0;
  h.upstream.respond = null;
  h.auth.respond = null;
}
