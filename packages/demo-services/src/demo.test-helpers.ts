import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { CryptoKey, JSONWebKeySet } from 'jose';

export const ISSUER = 'http://127.0.0.1:8080';

export interface Signer {
  jwks: () => JSONWebKeySet;
  sign(input: { aud: string; sub?: string; username?: string; roles?: string[]; header?: Record<string, unknown>; claims?: Record<string, unknown> }): Promise<string>;
}

/** A gateway stand-in: one Ed25519 key, its JWKS, and a passport minter. */
export async function makeSigner(kid = 'test-key'): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' }] };
  return {
    jwks: () => jwks,
    sign: (input) => signWith(privateKey, kid, input),
  };
}

async function signWith(
  key: CryptoKey,
  kid: string,
  input: Parameters<Signer['sign']>[0],
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: input.aud,
    iat: now,
    exp: now + 60,
    jti: randomUUID(),
    sub: input.sub ?? 'user-1',
    username: input.username ?? 'alice',
    roles: input.roles ?? ['user'],
    sid: 'session-1',
    did: 'device-1',
    auth: 'session',
    ...input.claims,
  })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'passport+jwt', kid, ...input.header })
    .sign(key);
}

/** An unsigned `alg: none` copy of a real passport. */
export function algNone(token: string, alg = 'none'): string {
  const payload = token.split('.')[1];
  return `${Buffer.from(JSON.stringify({ alg, typ: 'passport+jwt' })).toString('base64url')}.${payload}.`;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function call(
  url: string,
  init: { method?: string; passport?: string; json?: unknown; body?: string; contentType?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (init.passport !== undefined) headers['x-passport'] = init.passport;
  let body: string | undefined = init.body;
  if (init.json !== undefined) body = JSON.stringify(init.json);
  if (body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** Asserts a problem+json answer with `code`, free of stack traces and library names. */
export function problemOf(answer: Answer): { status: number; code: string; type: string; title: string; detail: string } {
  if (!answer.headers.get('content-type')?.startsWith('application/problem+json')) {
    throw new Error(`expected problem+json, got ${answer.headers.get('content-type')}: ${answer.text}`);
  }
  if (/\bat \S+:\d+|node_modules|fastify|ajv|sqlite|kysely|jose/i.test(answer.text)) {
    throw new Error(`problem leaks internals: ${answer.text}`);
  }
  return answer.body as { status: number; code: string; type: string; title: string; detail: string };
}
