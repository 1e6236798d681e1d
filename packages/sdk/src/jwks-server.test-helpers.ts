import { createHmac, randomUUID, webcrypto } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWK } from 'jose';
import { PASSPORT_TYP } from './claims.js';

export const ISSUER = 'http://127.0.0.1:8080';
export const AUDIENCE = 'notes';

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

export function jwksOf(...keys: TestKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => k.publicJwk) };
}

/** A local HTTP server that counts its requests; `handler` answers them. */
export interface CountingServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function startCountingServer(
  handler: (path: string) => { status: number; body: string } = () => ({ status: 200, body: '{"keys":[]}' }),
): Promise<CountingServer> {
  const state = { requests: 0 };
  const server = createServer((req, res) => {
    state.requests += 1;
    const { status, body } = handler(req.url ?? '/');
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JWKS endpoint whose key set can be changed and whose fetches are counted. */
export interface JwksServer extends CountingServer {
  jwksUrl: string;
  keys: TestKey[];
  status: number;
}

export async function startJwksServer(keys: TestKey[]): Promise<JwksServer> {
  const state = { keys, status: 200 };
  const server = await startCountingServer(() =>
    state.status === 200
      ? { status: 200, body: JSON.stringify(jwksOf(...state.keys)) }
      : { status: state.status, body: '{"error":"down"}' },
  );
  return Object.defineProperties(server as JwksServer, {
    jwksUrl: { value: `${server.url}/.well-known/jwks.json` },
    keys: { get: () => state.keys, set: (k: TestKey[]) => (state.keys = k) },
    status: { get: () => state.status, set: (s: number) => (state.status = s) },
  });
}

export interface PassportInput {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Seconds since the epoch used for iat/exp defaults. */
  nowSec?: number;
}

export function defaultClaims(nowSec: number): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    iat: nowSec,
    exp: nowSec + 60,
    jti: randomUUID(),
    username: 'alice',
    roles: ['user'],
    sid: 'session-1',
    did: 'device-1',
    auth: 'session',
  };
}

/** Signs a passport with `key`; `claims` and `header` override (undefined values delete). */
export async function signPassport(key: TestKey, input: PassportInput = {}): Promise<string> {
  const nowSec = input.nowSec ?? Math.floor(Date.now() / 1000);
  const claims = dropUndefined({ ...defaultClaims(nowSec), ...input.claims });
  const header = dropUndefined({ alg: 'EdDSA', typ: PASSPORT_TYP, kid: key.kid, ...input.header });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

export function b64url(value: unknown): string {
  const bytes = typeof value === 'string' || Buffer.isBuffer(value) ? Buffer.from(value) : Buffer.from(JSON.stringify(value));
  return bytes.toString('base64url');
}

/** A compact JWS built by hand (for headers jose refuses to produce). */
export function rawToken(header: unknown, payload: unknown, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`;
}

/** A real Ed25519 signature over any header, including ones jose refuses to produce. */
export async function signRaw(key: TestKey, header: unknown, payload: unknown): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = await webcrypto.subtle.sign('Ed25519', key.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

export function hs256Token(header: unknown, payload: unknown, secret: Buffer | string): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A clock the tests move by hand. */
export function frozenClock(startMs = Date.now()): { now: () => number; set(ms: number): void; advance(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
