/**
 * `gatehouse start` hands /auth requests to the auth service in its own process (issue 19: the
 * loopback hop was most of what a token grant cost beyond the store and the signature). Here the
 * gateway's auth URL is a dead port, so every answer below came through the in-process handler;
 * the request must reach the service as the upstream would have (headers, chunked body) and the
 * answer must pass the same relay rules (the revocation header never reaches the client, the
 * gateway's CORS headers stay). In process, on SQLite in a temp dir.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthService } from '../auth/auth-service.js';
import { DEFAULTS } from '../config/defaults.js';
import { REVOKED_HEADER } from '../credentials/revocation.js';
import { createLogger } from '../util/logger.js';
import { openDeps } from './open-deps.js';
import { Cleanups } from './role-support.js';
import { attachGateway, openPublicServer } from './run-gateway.js';

const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-inproc-'));
const silent = createLogger('silent');
const APP = 'https://app.example';
const cleanups = new Cleanups(silent);
let base = '';

beforeAll(async () => {
  const c = structuredClone(DEFAULTS);
  c.port = 0;
  c.logLevel = 'silent';
  c.demo = false;
  c.dataDir = join(tmp, 'data');
  c.signup.perIpPerMinute = 0;
  c.signup.autoChallenge.perIpPerMinute = 0;
  c.signup.autoChallenge.globalPerMinute = 0;
  c.cors.origins = [APP];
  const pub = await openPublicServer(c, cleanups);
  const opened = await openDeps(c, { logger: silent });
  cleanups.push(() => opened.close());
  const app = await buildAuthService(opened.deps);
  cleanups.push(() => app.close());
  await app.ready();
  // Port 9 (discard) has no listener: a request sent over HTTP would be answered 503 unavailable.
  await attachGateway(opened.deps, pub, {
    authUrl: 'http://127.0.0.1:9',
    authInProcess: (req, res) => app.routing(req, res),
    cleanups,
  });
  base = pub.localUrl;
});

afterAll(async () => {
  await cleanups.close();
  rmSync(tmp, { recursive: true, force: true });
});

const same = () => ({ origin: base, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' });

/** A POST whose body goes chunked (no Content-Length), as a streaming client sends it. */
function postChunked(path: string, type: string, parts: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
}

describe('gatehouse start: the auth service in the gateway\'s process', () => {
  it('signs up, signs in and reads /auth/me with the auth URL dead: the requests never left the process', async () => {
    const password = 'correct horse battery staple';
    expect((await fetch(`${base}/auth/signup`, { method: 'POST', headers: same(), body: JSON.stringify({ username: 'ada', password }) })).status).toBe(201);
    const signin = await fetch(`${base}/auth/signin`, { method: 'POST', headers: same(), body: JSON.stringify({ username: 'ada', password }) });
    expect(signin.status).toBe(200);
    const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    expect(cookie).toContain('gatehouse_session=');
    const me = await fetch(`${base}/auth/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { username: string }).username).toBe('ada');
  });

  it('a chunked token request reaches the service with its body', async () => {
    // Without the body the service would answer that grant_type is missing; with it, the refresh
    // token is unknown.
    const res = await postChunked('/auth/token', 'application/x-www-form-urlencoded', ['grant_type=refresh_token', '&refresh_token=', 'not-a-token']);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_grant' });
  });

  it('a sign-out\'s revocation header is never relayed; the cookie is refused at once', async () => {
    const password = 'correct horse battery staple';
    await fetch(`${base}/auth/signup`, { method: 'POST', headers: same(), body: JSON.stringify({ username: 'bob', password }) });
    const signin = await fetch(`${base}/auth/signin`, { method: 'POST', headers: same(), body: JSON.stringify({ username: 'bob', password }) });
    const { csrf_token } = (await signin.json()) as { csrf_token: string };
    const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    expect(signin.status).toBe(200);
    const out = await fetch(`${base}/auth/signout`, { method: 'POST', headers: { ...same(), cookie, 'x-csrf-token': csrf_token } });
    expect(out.status, await out.clone().text()).toBe(204);
    expect(out.headers.get(REVOKED_HEADER)).toBeNull();
    expect((await fetch(`${base}/auth/me`, { headers: { cookie } })).status).toBe(401);
  });

  it("keeps the gateway's CORS headers on an auth answer and drops none of the service's own", async () => {
    const res = await fetch(`${base}/auth/token`, { method: 'POST', headers: { origin: APP, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=nope' });
    expect(res.status).toBe(400);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('vary')).toMatch(/Origin/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });
});
