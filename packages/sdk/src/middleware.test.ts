import { request as httpRequest, createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassportVerifier, expressPassport, fastifyPassport, nodePassport } from './index.js';
import type { HeadersLike, PassportClaims, PassportError, PassportErrorCode, PassportMiddlewareOptions, PassportVerifier } from './index.js';
import './fastify.js';
import { AUDIENCE, ISSUER, makeKey, signPassport, startJwksServer } from './jwks-server.test-helpers.js';
import type { JwksServer, TestKey } from './jwks-server.test-helpers.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** node:http client, so that a header can be sent twice. */
function get(url: string, headers: Record<string, string | string[]> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
    req.on('error', reject);
    req.end();
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let key: TestKey;
let attacker: TestKey;
let jwks: JwksServer;
let verifier: PassportVerifier;
let downVerifier: PassportVerifier;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  key = await makeKey('k1');
  attacker = await makeKey('k1');
  jwks = await startJwksServer([key]);
  verifier = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE });
  downVerifier = createPassportVerifier({ jwksUrl: 'http://127.0.0.1:1/jwks.json', issuer: ISSUER, audience: AUDIENCE });
});
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
  await jwks.close();
});

type Handled = { handled: number };
/** The middleware options every test app takes (onError sees each framework's own request). */
type Options = PassportMiddlewareOptions<{ headers: HeadersLike }>;

async function fastifyApp(v: PassportVerifier, options: Options = {}): Promise<{ url: string } & Handled> {
  const app = Fastify({ logger: false });
  const state = { url: '', handled: 0 };
  app.decorateRequest('passport', null);
  app.addHook('onRequest', fastifyPassport(v, options));
  // An async onSend hook must not let the route run after the hook answered.
  app.addHook('onSend', async (_req, _reply, payload) => {
    await sleep(5);
    return payload;
  });
  app.get('/whoami', async (request) => {
    state.handled += 1;
    return { passport: request.passport };
  });
  state.url = await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close());
  return state;
}

async function expressApp(v: PassportVerifier, options: Options = {}): Promise<{ url: string } & Handled> {
  const app = express();
  const state = { url: '', handled: 0 };
  app.use(expressPassport(v, options));
  app.get('/whoami', (req, res) => {
    state.handled += 1;
    res.json({ passport: (req as unknown as { passport: PassportClaims | null }).passport });
  });
  const server = createServer(app);
  state.url = await listen(server);
  closers.push(() => new Promise((r) => server.close(r)));
  return state;
}

async function nodeApp(v: PassportVerifier, options: Options = {}): Promise<{ url: string } & Handled> {
  const passport = nodePassport(v, options);
  const state = { url: '', handled: 0 };
  const server = createServer((req, res) => {
    void passport(req, res).then((claims) => {
      if (res.writableEnded) return;
      state.handled += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ passport: claims }));
    });
  });
  state.url = await listen(server);
  closers.push(() => new Promise((r) => server.close(r)));
  return state;
}

const frameworks = { fastify: fastifyApp, express: expressApp, 'node:http': nodeApp };

/**
 * A refusal: problem+json with a fixed body; a 401 for a passport that was sent also names its
 * cause in `WWW-Authenticate` (and only there).
 */
function expectProblem(answer: Answer, status: number, code: string, cause?: PassportErrorCode): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(body).toEqual({ type: `urn:gatehouse:error:${code}`, title: expect.any(String), status, detail: expect.any(String), code });
  expect(answer.body).not.toMatch(/jose|JWS|JWT|JWK|signature|ERR_|stack|at .*\.js/i);
  if (status !== 401) return;
  const challenge = answer.headers['www-authenticate'];
  if (code === 'missing_passport') expect(challenge).toBe('Passport realm="gatehouse"');
  else if (cause) expect(challenge).toBe(`Passport realm="gatehouse", error="invalid_token", error_description="${cause}"`);
  else expect(challenge).toMatch(/^Passport realm="gatehouse", error="invalid_token", error_description="[a-z_]+"$/);
}

describe.each(Object.entries(frameworks))('%s middleware', (_name, start) => {
  it('puts the verified claims on the request', async () => {
    const app = await start(verifier);
    const res = await get(`${app.url}/whoami`, { 'x-passport': await signPassport(key) });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ passport: { sub: 'user-1', username: 'alice', roles: ['user'] } });
    expect(app.handled).toBe(1);
  });

  it('answers 401 missing_passport without a passport', async () => {
    const app = await start(verifier);
    expectProblem(await get(`${app.url}/whoami`), 401, 'missing_passport');
    expect(app.handled).toBe(0);
  });

  it('answers 401 invalid_passport for a forged, alg none or duplicated passport', async () => {
    const app = await start(verifier);
    const good = await signPassport(key);
    const forged = await signPassport(attacker);
    const none = `${Buffer.from('{"alg":"none","typ":"passport+jwt"}').toString('base64url')}.${good.split('.')[1]}.`;
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': forged }), 401, 'invalid_passport', 'signature_invalid');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': none }), 401, 'invalid_passport', 'passport_malformed');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': [good, good] }), 401, 'invalid_passport', 'passport_malformed');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': [good, forged] }), 401, 'invalid_passport', 'passport_malformed');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': `${good}, ${good}` }), 401, 'invalid_passport', 'passport_malformed');
    expect(app.handled).toBe(0);
  });

  it('answers 503 unavailable when the keys cannot be loaded', async () => {
    const app = await start(downVerifier);
    const res = await get(`${app.url}/whoami`, { 'x-passport': await signPassport(key) });
    expectProblem(res, 503, 'unavailable');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(app.handled).toBe(0);
  });

  it('optional: no passport passes with null, a bad one is still refused', async () => {
    const app = await start(verifier, { required: false });
    const res = await get(`${app.url}/whoami`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ passport: null });
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': 'junk' }), 401, 'invalid_passport', 'passport_malformed');
    expect(app.handled).toBe(1);
  });
});

describe.each(Object.entries(frameworks))('%s middleware: the cause of a refusal', (_name, start) => {
  const other = { iss: 'http://other-gateway.example' };

  async function cases(): Promise<[string | undefined, PassportErrorCode][]> {
    const nowSec = Math.floor(Date.now() / 1000);
    return [
      [undefined, 'passport_missing'],
      [await signPassport(key, { nowSec: nowSec - 100, claims: { exp: nowSec - 40 } }), 'passport_expired'],
      [await signPassport(key, { nowSec: nowSec + 60 }), 'passport_not_yet_valid'],
      [await signPassport(key, { claims: other }), 'issuer_mismatch'],
      [await signPassport(key, { claims: { aud: 'billing' } }), 'audience_mismatch'],
      [await signPassport(key, { header: { typ: 'at+jwt' } }), 'passport_wrong_type'],
      [await signPassport(attacker), 'signature_invalid'],
      [await signPassport(await makeKey('ghost')), 'unknown_key'],
      ['not-a-passport', 'passport_malformed'],
      ['"><script>alert(1)</script>', 'passport_malformed'],
    ];
  }

  it('hands onError a PassportError naming the cause, names it in WWW-Authenticate, and keeps the body generic', async () => {
    const seen: { code: PassportErrorCode; message: string; request: boolean }[] = [];
    const onError = (err: PassportError, request: { headers: HeadersLike }) =>
      seen.push({ code: err.code, message: err.message, request: typeof request.headers === 'object' });
    const app = await start(verifier, { onError });
    const bodies = new Set<string>();
    for (const [passport, cause] of await cases()) {
      const res = await get(`${app.url}/whoami`, passport === undefined ? {} : { 'x-passport': passport });
      if (cause === 'passport_missing') expectProblem(res, 401, 'missing_passport');
      else {
        expectProblem(res, 401, 'invalid_passport', cause);
        bodies.add(res.body);
      }
      expect(seen.at(-1), cause).toEqual({ code: cause, message: expect.any(String), request: true });
      // The log text is fixed: never the token, never a claim value.
      expect(seen.at(-1)!.message).not.toContain(passport ?? '\0');
      expect(seen.at(-1)!.message).not.toContain(other.iss);
    }
    expect(bodies.size).toBe(1);
    expect(seen).toHaveLength((await cases()).length);
    expect(app.handled).toBe(0);
  });

  it('reports an unreachable key set as jwks_unreachable and answers 503 without a challenge', async () => {
    const seen: PassportErrorCode[] = [];
    const app = await start(downVerifier, { onError: (err) => seen.push(err.code) });
    const res = await get(`${app.url}/whoami`, { 'x-passport': await signPassport(key) });
    expectProblem(res, 503, 'unavailable');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(seen).toEqual(['jwks_unreachable']);
  });

  it('answers the same whatever onError does: throw, reject, or nothing; and never for a passing request', async () => {
    let calls = 0;
    for (const onError of [
      () => {
        calls += 1;
        throw new Error('logger broke');
      },
      async () => {
        calls += 1;
        throw new Error('async logger broke');
      },
    ]) {
      const app = await start(verifier, { onError });
      expectProblem(await get(`${app.url}/whoami`, { 'x-passport': 'junk' }), 401, 'invalid_passport', 'passport_malformed');
      const ok = await get(`${app.url}/whoami`, { 'x-passport': await signPassport(key) });
      expect(ok.status).toBe(200);
      expect(app.handled).toBe(1);
    }
    expect(calls).toBe(2);
    // Optional and absent: passes, no error reported.
    const quiet: PassportErrorCode[] = [];
    const optional = await start(verifier, { required: false, onError: (err) => quiet.push(err.code) });
    expect((await get(`${optional.url}/whoami`)).status).toBe(200);
    expect(quiet).toEqual([]);
  });
});

describe('@gatehouse/sdk/fastify', () => {
  it('logs each refusal on request.log by default, naming the cause (and never the passport)', async () => {
    const { fastifyPassport: typedHook } = await import('./fastify.js');
    const lines: string[] = [];
    const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => lines.push(line) } } });
    app.decorateRequest('passport', null);
    app.addHook('onRequest', typedHook(verifier));
    // `request.passport` is typed by the entry point's augmentation: no cast.
    app.get('/whoami', async (request) => ({ sub: request.passport!.sub }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());

    const wrongIssuer = await signPassport(key, { claims: { iss: 'http://other-gateway.example' } });
    expect((await get(`${url}/whoami`, { 'x-passport': wrongIssuer })).status).toBe(401);
    expect((await get(`${url}/whoami`)).status).toBe(401);
    expect((await get(`${url}/whoami`, { 'x-passport': await signPassport(key) })).body).toBe('{"sub":"user-1"}');
    const refusals = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => 'passportError' in l);
    expect(refusals).toEqual([
      expect.objectContaining({ level: 40, passportError: 'issuer_mismatch', msg: expect.stringContaining('issuer_mismatch') }),
      expect.objectContaining({ level: 30, passportError: 'passport_missing' }),
    ]);
    expect(lines.join('\n')).not.toContain(wrongIssuer);
    expect(lines.join('\n')).not.toContain('other-gateway');
  });

  it('hands onError the Fastify request itself', async () => {
    const { fastifyPassport: typedHook } = await import('./fastify.js');
    const seen: string[] = [];
    const app = Fastify({ logger: false });
    app.decorateRequest('passport', null);
    app.addHook('onRequest', typedHook(verifier, { onError: (err, request) => seen.push(`${request.method} ${request.url} ${err.code}`) }));
    app.get('/whoami', async (request) => ({ sub: request.passport?.sub }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    closers.push(() => app.close());
    await get(`${url}/whoami?x=1`, { 'x-passport': await signPassport(key, { claims: { aud: 'billing' } }) });
    expect(seen).toEqual(['GET /whoami?x=1 audience_mismatch']);
  });
});
