import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHomeService, type RunningService } from '@gatehouse/demo-services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';
import { freePort } from '../../src/stores/redis/redis-server.test-helpers.js';

// Client credentials (issue 14 §1, §3) through the real gateway of one `gatehouse start`: a
// route that names the client (served by a demo home service of this test's own), the demo
// routes that do not, and `clients remove`.
let gh: StartedGatehouse;
let home: RunningService;
let secret: string;
const dataDir = tempDataDir();
/**
 * How often the single-node gateway reads the revocation log (revocations.pollIntervalMs); what
 * it read of a client it trusts for a minute (session.cacheTtlMs), so only the log can explain a
 * quick refusal.
 */
const POLL_MS = 1000;

beforeAll(async () => {
  const add = runCli(['clients', 'add', 'billing', '--name', 'Billing', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], { dataDir });
  expect(add.code, add.stderr).toBe(0);
  const m = /^(ghc_[0-9A-Za-z]{49})$/m.exec(add.stdout);
  if (!m) throw new Error(`no secret in ${add.stdout}`);
  secret = m[1]!;
  // A route only billing's own tokens (and any signed-in user) may call: whoami of a home service.
  const homePort = await freePort();
  const configFile = join(dataDir, 'gatehouse.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      session: { cacheTtlMs: 60_000 },
      revocations: { pollIntervalMs: POLL_MS },
      routes: [{ path: '/api/home/whoami', upstream: `http://127.0.0.1:${homePort}`, service: 'home', auth: 'required', clients: ['billing'] }],
    }),
  );
  gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: configFile });
  const { issuer } = (await (await fetch(`${gh.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
  home = await startHomeService({ port: homePort, logger: false, verifier: { jwksUrl: `${gh.url}/.well-known/jwks.json`, issuer } });
});
afterAll(async () => {
  await home?.close();
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const basic = (id: string, s: string): string => `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`;

function token(params: Record<string, string>, authorization?: string): Promise<Response> {
  return fetch(`${gh.url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization !== undefined ? { authorization } : {}) },
    body: new URLSearchParams(params).toString(),
  });
}

describe('client credentials through the gateway', () => {
  it('client_secret_basic reaches the auth service through the gateway, as does client_secret_post', async () => {
    const viaBasic = await token({ grant_type: 'client_credentials' }, basic('billing', secret));
    expect(viaBasic.status, await viaBasic.clone().text()).toBe(200);
    expect(await viaBasic.json()).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'notes:read' });
    const viaPost = await token({ grant_type: 'client_credentials', client_id: 'billing', client_secret: secret });
    expect(viaPost.status).toBe(200);
  });

  it('a wrong secret through the gateway is 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const res = await token({ grant_type: 'client_credentials' }, basic('billing', 'ghc_wrong'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
    expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('a route that names the client: the service gets a passport of auth "client" with sub = client id; other routes 403', async () => {
    const at = ((await (await token({ grant_type: 'client_credentials' }, basic('billing', secret))).json()) as { access_token: string }).access_token;
    const whoami = await fetch(`${gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${at}` } });
    expect(whoami.status, await whoami.clone().text()).toBe(200);
    const claims = (await whoami.json()) as Record<string, unknown>;
    expect(claims).toMatchObject({ auth: 'client', sub: 'billing', client_id: 'billing', roles: [], scope: 'notes:read', aud: 'home' });
    expect(claims).not.toHaveProperty('username');
    // The demo routes name no client: 403 forbidden, saying which client and what to change.
    for (const path of ['/api/home', '/api/notes', '/api/admin']) {
      const res = await fetch(gh.url + path, { headers: { authorization: `Bearer ${at}` } });
      expect(res.status, path).toBe(403);
      expect(await res.json(), path).toMatchObject({ code: 'forbidden', client_id: 'billing' });
    }
    // No auth-service endpoint accepts the kind (lanes).
    const me = await fetch(`${gh.url}/auth/me`, { headers: { authorization: `Bearer ${at}` } });
    expect(me.status).toBe(403);
    expect(((await me.json()) as { code: string }).code).toBe('credential_not_allowed');
  });

  it('clients remove (another process): its token is refused within revocations.pollIntervalMs on a single-node gateway, and it gets no new one', async () => {
    const at = ((await (await token({ grant_type: 'client_credentials' }, basic('billing', secret))).json()) as { access_token: string }).access_token;
    const call = () => fetch(`${gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${at}` } });
    expect((await call()).status).toBe(200);
    const removed = runCli(['clients', 'remove', 'billing'], { dataDir });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('Removed client billing');
    expect(removed.stdout).toContain(`within revocations.pollIntervalMs (${POLL_MS} ms)`);
    const t0 = Date.now();
    let res = await call();
    while (res.status === 200 && Date.now() - t0 < POLL_MS + 5_000) {
      await new Promise((r) => setTimeout(r, 25));
      res = await call();
    }
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
    // One interval, plus the CLI's own exit and a loaded box.
    expect(Date.now() - t0).toBeLessThan(POLL_MS + 1_000);
    const again = await token({ grant_type: 'client_credentials' }, basic('billing', secret));
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('both discovery documents list what the token endpoint accepts', async () => {
    const oidc = (await (await fetch(`${gh.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const rfc8414 = (await (await fetch(`${gh.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(rfc8414).toEqual(oidc);
    expect(oidc.grant_types_supported).toEqual(['password', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:token-exchange', 'urn:gatehouse:params:oauth:grant-type:mfa-otp']);
    expect(oidc.device_authorization_endpoint).toBe(`${gh.url}/auth/device/authorize`);
    expect(oidc.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_basic', 'client_secret_post']);
  });
});
