import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

/*
 * Issue 11 item 3 across processes: `gatehouse users revoke` runs in its own process, so nothing
 * it does reaches the running server's in-process revocation feed; the bound comes from the
 * gateway re-reading the user every `session.cacheTtlMs`. Here that is 1 s (30 s by default), and
 * the cookie, an API token and an access token issued while the user was admin must all lose
 * /api/admin (the demo admin service) within it. Before the fix the access token kept admin until
 * it expired (10 min).
 */

const TTL_MS = 1_000;
const PASSWORD = 'correct horse battery staple';
const dataDir = tempDataDir();
let gh: StartedGatehouse | undefined;

afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('gatehouse users revoke reaches every credential kind', () => {
  it(`cookie, API token and access token lose /api/admin within session.cacheTtlMs (${TTL_MS} ms here)`, async () => {
    const cfg = join(dataDir, 'gatehouse.json');
    writeFileSync(cfg, JSON.stringify({ session: { cacheTtlMs: TTL_MS } }));
    gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: cfg });
    const web = await signUpAndIn(gh.url, 'root-e2e');
    expect(runCli(['users', 'grant', 'root-e2e', 'admin'], { dataDir }).code).toBe(0);
    // Past the TTL, so the cookie read before the grant has the role too.
    await new Promise((r) => setTimeout(r, TTL_MS + 100));

    const made = await web.fetch('/auth/api-tokens', { method: 'POST', headers: { 'x-csrf-token': web.csrf! }, json: { name: 'ops', scopes: ['notes:read'] } });
    expect(made.status).toBe(201);
    const apiToken = ((await made.json()) as { token: string }).token;
    const grant = await fetch(`${gh.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'root-e2e', password: PASSWORD, device_id: 'console' }).toString(),
    });
    expect(grant.status).toBe(200);
    const accessToken = ((await grant.json()) as { access_token: string }).access_token;
    const url = gh.url;

    const kinds: Record<string, Record<string, string>> = {
      cookie: { cookie: web.jar.header() },
      api_token: { authorization: `Bearer ${apiToken}` },
      access_token: { authorization: `Bearer ${accessToken}` },
    };
    const admin = async (headers: Record<string, string>) => (await fetch(`${url}/api/admin`, { headers })).status;
    for (const [kind, headers] of Object.entries(kinds)) expect(await admin(headers), kind).toBe(200);

    expect(runCli(['users', 'revoke', 'root-e2e', 'admin'], { dataDir }).code).toBe(0);
    const revokedAt = Date.now();
    const lostAfter: Record<string, number> = {};
    // Polled for up to TTL + 3 s; every kind must be refused by TTL (+ scheduling slack).
    while (Object.keys(lostAfter).length < 3 && Date.now() - revokedAt < TTL_MS + 3_000) {
      for (const [kind, headers] of Object.entries(kinds)) {
        if (lostAfter[kind] === undefined && (await admin(headers)) === 403) lostAfter[kind] = Date.now() - revokedAt;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(Object.keys(lostAfter).sort(), JSON.stringify(lostAfter)).toEqual(['access_token', 'api_token', 'cookie']);
    for (const [kind, ms] of Object.entries(lostAfter)) expect(ms, kind).toBeLessThanOrEqual(TTL_MS + 500);
    // Still signed in: only the role went.
    for (const [kind, headers] of Object.entries(kinds)) expect((await fetch(`${url}/api/home`, { headers })).status, kind).toBe(200);
  }, 30_000);
});
