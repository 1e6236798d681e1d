import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// Client credentials (issue 14 §1, §3) through the real gateway of one `gatehouse start`.
let gh: StartedGatehouse;
let secret: string;
const dataDir = tempDataDir();

beforeAll(async () => {
  const add = runCli(['clients', 'add', 'billing', '--name', 'Billing', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], { dataDir });
  expect(add.code, add.stderr).toBe(0);
  const m = /^(ghc_[0-9A-Za-z]{49})$/m.exec(add.stdout);
  if (!m) throw new Error(`no secret in ${add.stdout}`);
  secret = m[1]!;
  gh = await startGatehouse(dataDir);
});
afterAll(async () => {
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

  it('the gateway refuses a client token as a user credential: 401 invalid_token on a route', async () => {
    const at = ((await (await token({ grant_type: 'client_credentials' }, basic('billing', secret))).json()) as { access_token: string }).access_token;
    for (const path of ['/api/notes', '/auth/me']) {
      const res = await fetch(gh.url + path, { headers: { authorization: `Bearer ${at}` } });
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
      expect(((await res.json()) as { code: string }).code).toBe('invalid_token');
    }
  });

  it('both discovery documents list what the token endpoint accepts', async () => {
    const oidc = (await (await fetch(`${gh.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    const rfc8414 = (await (await fetch(`${gh.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(rfc8414).toEqual(oidc);
    expect(oidc.grant_types_supported).toEqual(['password', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']);
    expect(oidc.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_basic', 'client_secret_post']);
  });
});
