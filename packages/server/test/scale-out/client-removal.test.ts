import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/harness.js';
import {
  bearerHeaders,
  killLeftovers,
  removeTempDirs,
  scaleOutReady,
  type Session,
  signUpAndIn,
  startTwoInstances,
  tempDir,
  type TwoInstances,
  whoami,
} from './cluster.test-helpers.js';

// Issue 14 §1 "clients remove" on PostgreSQL + Redis with two instances (two auth services, each
// behind its own gateway): a service client's token and a device session's access token of a
// public client work on both gateways; `gatehouse clients remove` (the CLI, another process, on
// the same PostgreSQL and Redis) makes the very next request on both refuse them, the device
// session's refresh token is refused, and the session is gone from the user's device list.

const SUITE = 'client removal scale-out tests';
const ready = await scaleOutReady(SUITE);

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

describe.skipIf(!ready)('clients remove across two instances on PostgreSQL + Redis', () => {
  let cluster: TwoInstances | undefined;
  /** An upstream of a route that names the service client: 200 with the passport's subject. */
  let upstream: Server;
  let env: Record<string, string>;
  let A: string;
  let B: string;
  let svcSecret: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const passport = req.headers['x-passport'];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sub: typeof passport === 'string' ? decodeJwt(passport).sub : null }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    cluster = await startTwoInstances({
      dbPrefix: 'gh_rm',
      setup: () => ({
        // Clients are re-read only once a minute: only the revocation feed can explain a quick refusal.
        config: {
          session: { cacheTtlMs: 60_000 },
          routes: [{ path: '/api/svc', upstream: upstreamUrl, service: 'svc', auth: 'required', clients: ['billing'] }],
        },
      }),
      afterFirstAuth: (clusterEnv) => {
        const cli = (args: string[]) => runCli(args, { env: { ...clusterEnv, GATEHOUSE_DATA_DIR: tempDir() } });
        const tv = cli(['clients', 'add', 'tv', '--name', 'TV', '--type', 'public', '--grants', 'device_code,refresh_token', '--scopes', 'notes:read']);
        expect(tv.code, tv.stderr).toBe(0);
        const svc = cli(['clients', 'add', 'billing', '--name', 'Billing', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read']);
        expect(svc.code, svc.stderr).toBe(0);
        svcSecret = /^(ghc_[0-9A-Za-z]{49})$/m.exec(svc.stdout)![1]!;
      },
    });
    ({ A, B, env } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  const form = async (base: string, path: string, params: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const basic = (): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`billing:${svcSecret}`).toString('base64')}` });
  const sessions = async (base: string, s: Session): Promise<string[]> => {
    const res = await fetch(`${base}/auth/sessions`, { headers: { cookie: s.cookie } });
    expect(res.status).toBe(200);
    return ((await res.json()) as Array<{ id: string }>).map((x) => x.id);
  };
  const callSvc = (base: string, token: string) => fetch(`${base}/api/svc`, { headers: bearerHeaders(token) });

  it('a client token and a device session of a public client work on both; after clients remove the next request on both is refused, the refresh too, and the session is gone', async () => {
    const user = await signUpAndIn(B, 'tv-owner');
    // The TV signs in: code on A, approved via B, redeemed on A.
    const started = (await form(A, '/auth/device/authorize', { client_id: 'tv', device_name: 'Living-room TV' })).body;
    const approve = await fetch(`${B}/auth/device/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: user.cookie, 'x-csrf-token': user.csrf },
      body: JSON.stringify({ user_code: started.user_code }),
    });
    expect(approve.status).toBe(200);
    const device = await form(A, '/auth/token', { grant_type: GRANT, client_id: 'tv', device_code: started.device_code! });
    expect(device.status, JSON.stringify(device.body)).toBe(200);
    const deviceToken = device.body.access_token!;
    const sid = decodeJwt(deviceToken).sid as string;
    // The service's token, from B's auth service.
    const cc = await form(B, '/auth/token', { grant_type: 'client_credentials' }, basic());
    expect(cc.status, JSON.stringify(cc.body)).toBe(200);
    const clientToken = cc.body.access_token!;

    for (const base of [A, B]) {
      const w = await whoami(base, bearerHeaders(deviceToken));
      expect(w.status, base).toBe(200);
      expect(w.claims).toMatchObject({ username: 'tv-owner', sid });
      const s = await callSvc(base, clientToken);
      expect(s.status, base).toBe(200);
      expect(await s.json()).toEqual({ sub: 'billing' });
    }
    expect(await sessions(A, user)).toContain(sid);

    for (const id of ['tv', 'billing']) {
      const removed = runCli(['clients', 'remove', id], { env: { ...env, GATEHOUSE_DATA_DIR: tempDir() } });
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toContain('revoked on every gateway');
      if (id === 'tv') expect(removed.stdout).toContain('Ended 1 device session signed in through it');
    }

    // The very next request, on both instances.
    for (const base of [A, B]) {
      const w = await fetch(`${base}/api/home/whoami`, { headers: bearerHeaders(deviceToken) });
      expect(w.status, `device token on ${base}`).toBe(401);
      expect(w.headers.get('www-authenticate')).toBe(CHALLENGE);
      const s = await callSvc(base, clientToken);
      expect(s.status, `client token on ${base}`).toBe(401);
      expect(s.headers.get('www-authenticate')).toBe(CHALLENGE);
    }
    const refreshed = await form(B, '/auth/token', { grant_type: 'refresh_token', client_id: 'tv', refresh_token: device.body.refresh_token! });
    expect(refreshed.status).toBe(401);
    expect(refreshed.body.error).toBe('invalid_client');
    // Gone from the user's device list on both; the user's own browser session goes on.
    for (const base of [A, B]) expect(await sessions(base, user)).not.toContain(sid);
    expect((await whoami(A, { cookie: user.cookie })).status).toBe(200);
    // And no new token for either.
    expect((await form(A, '/auth/token', { grant_type: 'client_credentials' }, basic())).body.error).toBe('invalid_client');
    expect((await form(A, '/auth/device/authorize', { client_id: 'tv' })).body.error).toBe('invalid_client');
  }, 60_000);
});
