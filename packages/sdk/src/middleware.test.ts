import { request as httpRequest, createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassportVerifier, expressPassport, fastifyPassport, nodePassport } from './index.js';
import type { PassportClaims, PassportVerifier } from './index.js';
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

declare module 'fastify' {
  interface FastifyRequest {
    passport: PassportClaims | null;
  }
}

type Handled = { handled: number };

async function fastifyApp(v: PassportVerifier, required = true): Promise<{ url: string } & Handled> {
  const app = Fastify({ logger: false });
  const state = { url: '', handled: 0 };
  app.decorateRequest('passport', null);
  app.addHook('onRequest', fastifyPassport(v, { required }));
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

async function expressApp(v: PassportVerifier, required = true): Promise<{ url: string } & Handled> {
  const app = express();
  const state = { url: '', handled: 0 };
  app.use(expressPassport(v, { required }));
  app.get('/whoami', (req, res) => {
    state.handled += 1;
    res.json({ passport: (req as unknown as { passport: PassportClaims | null }).passport });
  });
  const server = createServer(app);
  state.url = await listen(server);
  closers.push(() => new Promise((r) => server.close(r)));
  return state;
}

async function nodeApp(v: PassportVerifier, required = true): Promise<{ url: string } & Handled> {
  const passport = nodePassport(v, { required });
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

function expectProblem(answer: Answer, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(body).toEqual({ type: `urn:gatehouse:error:${code}`, title: expect.any(String), status, detail: expect.any(String), code });
  expect(answer.body).not.toMatch(/jose|JWS|JWT|JWK|signature|ERR_|stack|at .*\.js/i);
  if (status === 401) expect(answer.headers['www-authenticate']).toBe('Passport realm="gatehouse"');
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
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': forged }), 401, 'invalid_passport');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': none }), 401, 'invalid_passport');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': [good, good] }), 401, 'invalid_passport');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': [good, forged] }), 401, 'invalid_passport');
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': `${good}, ${good}` }), 401, 'invalid_passport');
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
    const app = await start(verifier, false);
    const res = await get(`${app.url}/whoami`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ passport: null });
    expectProblem(await get(`${app.url}/whoami`, { 'x-passport': 'junk' }), 401, 'invalid_passport');
    expect(app.handled).toBe(1);
  });
});
