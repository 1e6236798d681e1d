import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { join } from 'node:path';
import { Agent, fetch, request, type Response } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/stores/redis/redis-server.test-helpers.js';
import { startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';
import { HOST, lookupHostHere, NGINX, nginxConfigFromTemplate, selfSignedCert, startNginx, type RunningNginx } from './nginx.test-helpers.js';

// docs/deployment.md, "TLS in front: nginx", tried: the shipped deploy/nginx/gatehouse.conf
// (only its ports and paths changed, and its IPv6 listen lines dropped) in front of a real
// `gatehouse start` with the documented settings, over https with a self-signed certificate.
// nginx is a Debian package; .ci/run installs it, so on CI this never skips.

const hasNginx = NGINX !== undefined;

const dir = tempDataDir();
let gh: StartedGatehouse;
let nginx: RunningNginx | undefined;
let httpsPort = 0;
let httpPort = 0;
let origin = '';
// The client connects from 127.0.0.2 (any 127/8 address is loopback on Linux): nginx sees it as
// $remote_addr, Gatehouse sees only nginx (127.0.0.1), so the client IP it records can only
// have come from nginx's X-Forwarded-For.
let agent: Agent;
const agentLookup = lookupHostHere;

beforeAll(async () => {
  if (!hasNginx) return;
  const { cert, key } = selfSignedCert(dir);
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  const gatewayPort = await freePort();
  origin = `https://${HOST}:${httpsPort}`;

  // The Gatehouse side, as docs/deployment.md says: public URL https, nginx trusted.
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ gateway: { trustedProxies: ['127.0.0.1'] } }));
  gh = await startGatehouse(join(dir, 'data'), {
    GATEHOUSE_CONFIG: config,
    GATEHOUSE_PORT: String(gatewayPort),
    GATEHOUSE_PUBLIC_URL: origin,
  });

  nginx = await startNginx(dir, nginxConfigFromTemplate({ http: httpPort, https: httpsPort, gateways: [gatewayPort], cert, key }), httpsPort);

  agent = new Agent({
    localAddress: '127.0.0.2',
    connect: {
      ca: readFileSync(cert),
      lookup: agentLookup,
    },
  });
}, 45_000);

afterAll(async () => {
  await nginx?.stop();
  await gh?.stop();
  await agent?.close();
  rmSync(dir, { recursive: true, force: true });
});

function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}

describe.skipIf(!hasNginx)('deployment: nginx terminates TLS in front of gatehouse start (deploy/nginx/gatehouse.conf)', () => {
  const cookies = new Map<string, string>();
  let csrf = '';
  const call = async (path: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${origin}${path}`, {
      method: init.method ?? 'GET',
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      redirect: 'manual',
      dispatcher: agent,
    });
    for (const c of setCookies(res)) {
      const pair = c.split(';')[0]!;
      cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
    }
    return res;
  };

  it('redirects plain http to https', async () => {
    const res = await request(`http://${HOST}:${httpPort}/signin`, { dispatcher: agent });
    await res.body.dump();
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe(`https://${HOST}/signin`);
  });

  it('signs up and in over https from a browser origin: __Host- cookies, Secure, one HSTS header', async () => {
    const password = 'correct horse battery staple';
    const up = await call('/auth/signup', { method: 'POST', json: { username: 'nginx-deploy', password }, headers: { origin } });
    expect(up.status, await up.clone().text()).toBe(201);
    cookies.clear();
    // A client's own X-Forwarded-For is kept by nginx, to the left of the address nginx saw.
    const res = await call('/auth/signin', { method: 'POST', json: { username: 'nginx-deploy', password }, headers: { origin, 'x-forwarded-for': '203.0.113.66' } });
    expect(res.status, await res.clone().text()).toBe(200);
    csrf = ((await res.json()) as { csrf_token: string }).csrf_token;
    const set = setCookies(res);
    const session = set.find((c) => c.startsWith('__Host-gatehouse_session='));
    expect(session, set.join('\n')).toBeTruthy();
    expect(session).toMatch(/;\s*Secure/i);
    expect(session).toMatch(/;\s*Path=\//i);
    expect(session).not.toMatch(/;\s*Domain=/i);
    expect(set.some((c) => c.startsWith('__Host-gatehouse_csrf='))).toBe(true);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });

  it('reaches a service with a passport whose issuer is the public https URL', async () => {
    const who = await call('/api/home/whoami');
    expect(who.status).toBe(200);
    expect(who.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(await who.json()).toMatchObject({ username: 'nginx-deploy', iss: origin, aud: 'home', auth: 'session' });
    const oidc = (await (await call('/.well-known/openid-configuration')).json()) as { issuer: string };
    expect(oidc.issuer).toBe(origin);
  });

  it('serves browsers on HTTP/2 the same (no Host header there: nginx makes one from :authority)', async () => {
    const session = http2.connect(origin, { ca: readFileSync(join(dir, 'cert.pem')), lookup: agentLookup });
    try {
      const { status, hsts, body } = await new Promise<{ status: number; hsts: unknown; body: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/api/home/whoami', cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') });
        let body = '';
        let head: http2.IncomingHttpHeaders = {};
        req.on('response', (h) => (head = h));
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => resolve({ status: Number(head[':status']), hsts: head['strict-transport-security'], body }));
        req.on('error', reject);
        req.end();
      });
      expect(status, body).toBe(200);
      expect(JSON.parse(body)).toMatchObject({ username: 'nginx-deploy', iss: origin });
      expect(hsts).toBe('max-age=31536000; includeSubDomains');
    } finally {
      session.close();
    }
  });

  it("records the client's address from nginx's X-Forwarded-For, not nginx's and not the client's own claim", async () => {
    const res = await call('/auth/activity', { headers: { 'x-csrf-token': csrf } });
    expect(res.status).toBe(200);
    const events = (await res.json()) as Array<{ type: string; ip: string | null }>;
    const signin = events.find((e) => e.type === 'signin.success');
    expect(signin, JSON.stringify(events)).toBeTruthy();
    expect(signin!.ip).toBe('127.0.0.2');
  });

  it("answers nginx's own 502 with HSTS too, when no gateway is there", async () => {
    await gh.stop();
    const res = await call('/healthz');
    expect(res.status).toBe(502);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  });
});
