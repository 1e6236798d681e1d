import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

/*
 * `gatehouse clients remove` reaching a running gateway through the revocation feed (issue 14 §3):
 * with Redis configured the CLI publishes the removal, so the very next request with the client's
 * token is refused, long before session.cacheTtlMs (30 s here) would have re-read the client.
 */

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const dataDir = tempDataDir();
const env = { GATEHOUSE_REDIS_URL: REDIS_URL };
// Its own id: other suites may share this Redis (and its revocation channel).
const clientId = `svc-${randomBytes(6).toString('hex')}`;
let gh: StartedGatehouse;
let secret: string;

beforeAll(async () => {
  const add = runCli(['clients', 'add', clientId, '--name', 'Feed test', '--type', 'confidential', '--grants', 'client_credentials', '--scopes', 'notes:read'], { dataDir, env });
  expect(add.code, add.stderr).toBe(0);
  secret = /^(ghc_[0-9A-Za-z]{49})$/m.exec(add.stdout)![1]!;
  gh = await startGatehouse(dataDir, env);
});
afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('clients remove with the Redis revocation feed', () => {
  it('the next request with the removed client\'s token is refused', async () => {
    const res = await fetch(`${gh.url}/auth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(res.status).toBe(200);
    const at = ((await res.json()) as { access_token: string }).access_token;
    // A valid client token on a route that does not name the client: 403, not 401.
    const before = await fetch(`${gh.url}/api/home`, { headers: { authorization: `Bearer ${at}` } });
    expect(before.status).toBe(403);
    const removed = runCli(['clients', 'remove', clientId], { dataDir, env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('revoked on every gateway');
    const after = await fetch(`${gh.url}/api/home`, { headers: { authorization: `Bearer ${at}` } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse", error="invalid_token"');
  });
});
