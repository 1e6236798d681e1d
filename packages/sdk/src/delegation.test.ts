import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JWT_TOKEN_TYPE,
  MAX_ACTOR_DEPTH,
  PASSPORT_HEADER,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TokenExchangeError,
  createPassportVerifier,
  exchangePassport,
  passportHeaders,
  type PassportVerifier,
} from './index.js';
import { AUDIENCE, ISSUER, frozenClock, makeKey, signPassport, startJwksServer, type JwksServer, type TestKey } from './jwks-server.test-helpers.js';

/** `act` (RFC 8693 §4.1) in the verifier, and the token-exchange helpers, against real node:http servers. */

let key: TestKey;
let jwks: JwksServer;
const clock = frozenClock(Date.UTC(2030, 0, 1, 12, 0, 0));
const nowSec = (): number => Math.floor(clock.now() / 1000);
let verifier: PassportVerifier;

beforeAll(async () => {
  key = await makeKey('k1');
  jwks = await startJwksServer([key]);
  verifier = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, now: clock.now, cacheMax: 0 });
});
afterAll(() => jwks.close());

const withAct = (act: unknown): Promise<string> => signPassport(key, { nowSec: nowSec(), claims: { act } });

describe('act: the chain of services acting for the user', () => {
  it('a passport without act has neither act nor actors', async () => {
    const claims = await verifier.verify(await signPassport(key, { nowSec: nowSec() }));
    expect(claims.act).toBeUndefined();
    expect(claims.actors).toBeUndefined();
  });

  it('exposes act and the actors, nearest first, frozen', async () => {
    const claims = await verifier.verify(await withAct({ sub: 'svc-b', act: { sub: 'svc-a' } }));
    expect(claims.act).toEqual({ sub: 'svc-b', act: { sub: 'svc-a' } });
    expect(claims.actors).toEqual(['svc-b', 'svc-a']);
    expect(Object.isFrozen(claims.act)).toBe(true);
    expect(Object.isFrozen(claims.act!.act)).toBe(true);
    expect(Object.isFrozen(claims.actors)).toBe(true);
  });

  it(`accepts ${MAX_ACTOR_DEPTH} levels and refuses ${MAX_ACTOR_DEPTH + 1}`, async () => {
    const chain = (n: number): unknown => (n === 0 ? undefined : { sub: `svc-${n}`, ...(n > 1 ? { act: chain(n - 1) } : {}) });
    await expect(verifier.verify(await withAct(chain(MAX_ACTOR_DEPTH)))).resolves.toMatchObject({ actors: expect.arrayContaining(['svc-1']) });
    await expect(verifier.verify(await withAct(chain(MAX_ACTOR_DEPTH + 1)))).rejects.toMatchObject({ code: 'passport_malformed' });
  });

  it('refuses a malformed act, at any level: not an object, no string sub, other members', async () => {
    for (const act of [
      'svc-a',
      ['svc-a'],
      null,
      {},
      { sub: '' },
      { sub: 7 },
      { sub: 'svc-b', act: 'svc-a' },
      { sub: 'svc-b', act: { sub: 'svc-a', act: null } },
      { sub: 'svc-b', act: { sub: 'svc-a', roles: ['admin'] } },
      { sub: 'svc-b', iss: 'elsewhere' },
    ]) {
      await expect(verifier.verify(await withAct(act)), JSON.stringify(act)).rejects.toMatchObject({ code: 'passport_malformed' });
    }
  });
});

describe('passportHeaders', () => {
  it('is the header the gateway forwards passports in', async () => {
    const token = await signPassport(key, { nowSec: nowSec() });
    expect(passportHeaders(token)).toEqual({ [PASSPORT_HEADER]: token });
    expect(passportHeaders({ passport: token, expiresIn: 60, scope: undefined })).toEqual({ 'x-passport': token });
  });

  it('refuses anything but a compact JWS (no header injection)', () => {
    for (const bad of ['', 'a.b', 'a.b.c\r\nx-evil: 1', 'a.b.c, d.e.f', undefined as unknown as string]) {
      expect(() => passportHeaders(bad), String(bad)).toThrow(TypeError);
    }
  });
});

interface Seen {
  authorization: string | undefined;
  contentType: string | undefined;
  body: URLSearchParams;
}

/** A token endpoint on node:http that records what it got and answers what the test says. */
async function tokenEndpoint(answer: (seen: Seen) => { status: number; body: unknown }): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const s = { authorization: req.headers.authorization, contentType: req.headers['content-type'], body: new URLSearchParams(text) };
      seen.push(s);
      const { status, body } = answer(s);
      res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/auth/token`,
    seen,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

describe('exchangePassport', () => {
  it('posts an RFC 8693 request with HTTP Basic (id and secret form-encoded) and returns the passport', async () => {
    const ep = await tokenEndpoint(() => ({ status: 200, body: { access_token: 'h.p.s', issued_token_type: JWT_TOKEN_TYPE, token_type: 'N_A', expires_in: 42, scope: 'notes:read' } }));
    try {
      const out = await exchangePassport({ tokenUrl: ep.url, clientId: 'svc-a', clientSecret: 'ghc_s+cret:x', subjectToken: 'sub.ject.token', audience: 'svc-b', scope: ['notes:read'] });
      expect(out).toEqual({ passport: 'h.p.s', expiresIn: 42, scope: 'notes:read' });
      const [req] = ep.seen;
      expect(req!.contentType).toBe('application/x-www-form-urlencoded');
      expect(Buffer.from(req!.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('svc-a:ghc_s%2Bcret%3Ax');
      expect(Object.fromEntries(req!.body)).toEqual({
        grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
        subject_token: 'sub.ject.token',
        subject_token_type: JWT_TOKEN_TYPE,
        audience: 'svc-b',
        scope: 'notes:read',
      });
      // No secret in the body when Basic carries it.
      expect(req!.body.has('client_secret')).toBe(false);
    } finally {
      await ep.close();
    }
  });

  it('an OAuth error answer rejects with its code, status and description', async () => {
    const ep = await tokenEndpoint(() => ({ status: 400, body: { error: 'invalid_target', error_description: 'This client may not call "billing".' } }));
    try {
      const err = await exchangePassport({ tokenUrl: ep.url, clientId: 'svc-a', clientSecret: 's', subjectToken: 't.t.t', audience: 'billing' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TokenExchangeError);
      expect(err).toMatchObject({ error: 'invalid_target', status: 400, description: 'This client may not call "billing".' });
    } finally {
      await ep.close();
    }
  });

  it('an answer that is not a JWT token-exchange answer, and no answer at all, reject too', async () => {
    const ep = await tokenEndpoint(() => ({ status: 200, body: { access_token: 'x', token_type: 'Bearer', expires_in: 600 } }));
    const url = ep.url;
    try {
      await expect(exchangePassport({ tokenUrl: url, clientId: 'a', clientSecret: 's', subjectToken: 't', audience: 'b' })).rejects.toMatchObject({ error: 'invalid_response' });
    } finally {
      await ep.close();
    }
    await expect(exchangePassport({ tokenUrl: url, clientId: 'a', clientSecret: 's', subjectToken: 't', audience: 'b' })).rejects.toMatchObject({ error: 'unreachable', status: 0 });
    await expect(exchangePassport({ tokenUrl: url, clientId: 'a', clientSecret: 's', subjectToken: '', audience: 'b' })).rejects.toThrow(TypeError);
  });
});
