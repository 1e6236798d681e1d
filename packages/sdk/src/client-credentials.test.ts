import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ClientCredentials, ClientCredentialsError, type ClientCredentialsOptions } from './client-credentials.js';

/*
 * The client-credentials helper against a real token endpoint on 127.0.0.1 (node:http): what
 * goes over the wire is what Gatehouse's /auth/token reads. Time and waits are injected.
 */

interface Seen {
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let url: string;
const seen: Seen[] = [];
/** Answers for the next requests, in order; the last one repeats. */
let answers: Answer[] = [];
let issued = 0;

const ok =
  (expiresIn = 600, delayMs = 0): Answer =>
  (_req, res) => {
    const token = `token-${++issued}`;
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'notes:read' }));
    }, delayMs);
  };
const status =
  (code: number, body: Record<string, unknown> = {}, headers: Record<string, string> = {}): Answer =>
  (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
/** The connection is cut without an answer (the auth service crashed mid-request). */
const hangUp: Answer = (req) => req.socket.destroy();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/token`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  answers = [ok()];
});

/** A helper on a manual clock whose waits are recorded, not slept. */
function helper(extra: Partial<ClientCredentialsOptions> = {}) {
  const clock = { now: 1_700_000_000_000 };
  const sleeps: number[] = [];
  const cc = new ClientCredentials({
    tokenUrl: url,
    clientId: 'billing',
    clientSecret: 'ghc_secret',
    now: () => clock.now,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.999,
    ...extra,
  });
  return { cc, clock, sleeps };
}

describe('ClientCredentials', () => {
  it('asks with HTTP Basic (client_secret_basic) and grant_type=client_credentials, with the scope asked for', async () => {
    const { cc } = helper({ scope: ['notes:read', 'notes:write'] });
    expect(await cc.getToken()).toMatch(/^token-\d+$/);
    expect(seen).toHaveLength(1);
    expect(Buffer.from(seen[0]!.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe('billing:ghc_secret');
    expect(seen[0]!.contentType).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({ grant_type: 'client_credentials', scope: 'notes:read notes:write' });
    expect(await cc.headers()).toEqual({ authorization: `Bearer ${await cc.getToken()}` });
    expect(seen).toHaveLength(1);
  });

  it('20 concurrent callers share one request', async () => {
    answers = [ok(600, 50)];
    const { cc } = helper();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cc.getToken()));
    expect(seen).toHaveLength(1);
    expect(new Set(tokens).size).toBe(1);
  });

  it('renews before expiry: the cached token until 80% of its life, then one renewal while the old one still serves', async () => {
    const { cc, clock } = helper();
    const first = await cc.getToken();
    clock.now += 470_000;
    expect(await cc.getToken()).toBe(first);
    expect(seen).toHaveLength(1);
    clock.now += 20_000; // 490 s of 600: past 80%.
    // The old token at once, one renewal in the background however many callers come.
    expect(await Promise.all([cc.getToken(), cc.getToken(), cc.getToken()])).toEqual([first, first, first]);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(2);
    const second = await cc.getToken();
    expect(second).not.toBe(first);
    expect(seen).toHaveLength(2);
  });

  it('a short-lived token is renewed 30 s before it expires; an expired one is waited for', async () => {
    answers = [ok(60)];
    const { cc, clock } = helper();
    const first = await cc.getToken();
    clock.now += 29_000;
    expect(await cc.getToken()).toBe(first);
    expect(seen).toHaveLength(1);
    clock.now += 2_000; // 31 s of 60: within 30 s of expiry.
    await cc.getToken();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toHaveLength(2);
    clock.now += 61_000; // the renewed token has expired as well.
    const third = await cc.getToken();
    expect(seen).toHaveLength(3);
    expect(third).toBe(`token-${issued}`);
  });

  it('retries a 503, a 429 (honouring Retry-After) and a cut connection with capped exponential backoff, then succeeds', async () => {
    answers = [status(503, { error: 'temporarily_unavailable' }), hangUp, status(429, {}, { 'retry-after': '3' }), status(502), status(503), ok()];
    const { cc, sleeps } = helper({ backoffBaseMs: 100, backoffMaxMs: 5_000, maxRetries: 6 });
    expect(await cc.getToken()).toMatch(/^token-/);
    expect(seen).toHaveLength(6);
    // random() = 0.999: each delay is just under its bound 100, 200, (Retry-After 3 s), 800, 1600.
    expect(sleeps).toEqual([99, 199, 3000, 799, 1598]);
  });

  it('the backoff is capped, and gives up with temporarily_unavailable after maxRetries', async () => {
    answers = [status(503)];
    const { cc, sleeps } = helper({ backoffBaseMs: 1000, backoffMaxMs: 2500, maxRetries: 4 });
    const err = await cc.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientCredentialsError);
    expect((err as ClientCredentialsError).error).toBe('temporarily_unavailable');
    expect((err as ClientCredentialsError).status).toBe(503);
    expect(seen).toHaveLength(5);
    expect(sleeps).toEqual([999, 1998, 2497, 2497]);
    expect(sleeps.every((ms) => ms <= 2500)).toBe(true);
  });

  it('does not retry invalid_client (401) or invalid_scope (400): a typed error with the OAuth code, never the secret', async () => {
    answers = [status(401, { error: 'invalid_client', error_description: 'Client authentication failed.' }, { 'www-authenticate': 'Basic realm="gatehouse"' })];
    const { cc, sleeps } = helper();
    const err = (await cc.getToken().catch((e: unknown) => e)) as ClientCredentialsError;
    expect(err).toBeInstanceOf(ClientCredentialsError);
    expect(err.error).toBe('invalid_client');
    expect(err.status).toBe(401);
    expect(err.description).toBe('Client authentication failed.');
    expect(err.message).not.toContain('ghc_secret');
    expect(seen).toHaveLength(1);
    expect(sleeps).toEqual([]);

    answers = [status(400, { error: 'invalid_scope' })];
    seen.length = 0;
    const err2 = (await cc.getToken().catch((e: unknown) => e)) as ClientCredentialsError;
    expect(err2.error).toBe('invalid_scope');
    expect(seen).toHaveLength(1);
  });

  it('a failed request is not cached: the next call asks again', async () => {
    answers = [status(401, { error: 'invalid_client' }), ok()];
    const { cc } = helper();
    await expect(cc.getToken()).rejects.toBeInstanceOf(ClientCredentialsError);
    expect(await cc.getToken()).toMatch(/^token-/);
    expect(seen).toHaveLength(2);
  });

  it('refuses an answer without a bearer token (invalid_response)', async () => {
    answers = [status(200, { token_type: 'Bearer', expires_in: 600 })];
    const { cc } = helper();
    await expect(cc.getToken()).rejects.toMatchObject({ error: 'invalid_response' });
  });

  it('authorizedFetch sends the token, and on a 401 from the service fetches a new token and tries once more', async () => {
    const { cc } = helper();
    const api = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      // The first token is refused (revoked), the next one accepted.
      res.writeHead(auth === 'Bearer token-' + String(firstIssued) ? 401 : 200, { 'content-type': 'text/plain' });
      res.end(auth);
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/orders`;
    const firstIssued = issued + 1;
    try {
      const res = await cc.authorizedFetch(apiUrl, { headers: { accept: 'text/plain' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(`Bearer token-${firstIssued + 1}`);
      expect(seen).toHaveLength(2);
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
  });
});
