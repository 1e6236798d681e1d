import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browser, runCli, signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// One real `gatehouse start` process for this file, on a free port and a temporary data dir.
let gh: StartedGatehouse;
const dataDir = tempDataDir();

beforeAll(async () => {
  // Every request here comes from 127.0.0.1: lift the per-IP limits (their own tests are in
  // signin-limits/signup-limits and abuse-limits.test.ts) so one "IP" can be many users.
  const config = join(dataDir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ signin: { perIpPerMinute: 0 }, signup: { perIpPerMinute: 0, autoChallenge: { perIpPerMinute: 0, globalPerMinute: 0 } } }));
  gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: config });
});
afterAll(async () => {
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function b64url(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

describe('gatehouse start (end to end)', () => {
  it('prints the URL, where data lives and which stores are in use', () => {
    const out = gh.stdout();
    expect(out).toMatch(/is up at http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain(`data:      ${dataDir}`);
    expect(out).toMatch(/stores:.*SQLite/);
  });

  it('serves health, readiness, JWKS and OpenID discovery', async () => {
    expect((await fetch(`${gh.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gh.url}/readyz`);
    expect(ready.status).toBe(200);
    const jwks = (await (await fetch(`${gh.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(k).not.toHaveProperty('d');
    }
    const oidc = (await (await fetch(`${gh.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(oidc.issuer).toBe(gh.url);
    expect(oidc.jwks_uri).toBe(`${gh.url}/.well-known/jwks.json`);
  });

  it('signs up, signs in and reaches a service that verified the passport', async () => {
    const alice = await signUpAndIn(gh.url, 'alice-e2e');
    expect(alice.jar.get('gatehouse_session')).toBeTruthy();
    const who = await alice.fetch('/api/home/whoami');
    expect(who.status).toBe(200);
    const claims = (await who.json()) as Record<string, unknown>;
    expect(claims).toMatchObject({ username: 'alice-e2e', aud: 'home', iss: gh.url, auth: 'session', roles: [] });
    expect(typeof claims.sid).toBe('string');
    expect(claims.exp as number).toBeLessThanOrEqual((claims.iat as number) + 60);
    const me = await alice.fetch('/auth/me');
    expect(await me.json()).toMatchObject({ username: 'alice-e2e', roles: [] });
  });

  it('ignores a forged x-passport header: the service sees only the gateway passport', async () => {
    const mallory = await signUpAndIn(gh.url, 'mallory-e2e');
    const forged = `${b64url({ alg: 'none', typ: 'passport+jwt' })}.${b64url({ sub: 'x', username: 'root', roles: ['admin'], aud: 'home', auth: 'session' })}.`;
    const res = await mallory.fetch('/api/home/whoami', { headers: { 'x-passport': forged, 'X-User-Id': 'root', 'x-roles': 'admin' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: 'mallory-e2e', roles: [] });
    // Without a session the forged header gets nowhere.
    const anon = await fetch(`${gh.url}/api/home/whoami`, { headers: { 'x-passport': forged } });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Bearer realm="gatehouse"/);
  });

  it('refuses an alg:none passport sent straight to a demo service', async () => {
    expect(gh.internal.home).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64url({ alg: 'none', typ: 'passport+jwt' })}.${b64url({ iss: gh.url, aud: 'home', sub: 'x', iat: now, exp: now + 60, jti: 'j', username: 'root', roles: ['admin'], auth: 'session' })}.`;
    const res = await fetch(`${gh.internal.home}/api/home/whoami`, { headers: { 'x-passport': none } });
    expect(res.status).toBe(401);
    const admin = await fetch(`${gh.internal.admin}/api/admin`, { headers: { 'x-passport': none } });
    expect(admin.status).toBe(401);
  });

  it('refuses cross-origin and token-less cookie writes, allows same-origin ones with the CSRF token', async () => {
    const bob = await signUpAndIn(gh.url, 'bob-e2e');
    const noToken = await bob.fetch('/api/notes', { method: 'POST', json: { text: 'hi' } });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ code: 'csrf' });
    const foreign = await bob.fetch('/api/notes', { method: 'POST', json: { text: 'hi' }, headers: { 'x-csrf-token': bob.csrf!, origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    const ok = await bob.fetch('/api/notes', { method: 'POST', json: { text: 'hello notes' }, headers: { 'x-csrf-token': bob.csrf!, origin: gh.url } });
    expect(ok.status).toBe(201);
    const list = (await (await bob.fetch('/api/notes')).json()) as { notes: Array<{ text: string }> };
    expect(list.notes.map((n) => n.text)).toEqual(['hello notes']);
    // A cross-site sign-in sets no cookie.
    const cross = await fetch(`${gh.url}/auth/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ username: 'bob-e2e', password: 'correct horse battery staple' }),
    });
    expect(cross.status).toBe(403);
    expect(cross.headers.getSetCookie()).toEqual([]);
  });

  it('gives exactly one account to 50 parallel sign-ups of one name', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${gh.url}/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // Case and width variants of one canonical name.
          body: JSON.stringify({ username: i % 2 ? 'RaceName' : 'ｒａｃｅname', password: `parallel-pass-${i}-xyz` }),
        }).then((r) => r.status),
      ),
    );
    expect(results.filter((s) => s === 201)).toHaveLength(1);
    expect(results.filter((s) => s === 409)).toHaveLength(49);
  });

  it('signs out: the cookie stops working at once', async () => {
    const carol = await signUpAndIn(gh.url, 'carol-e2e');
    const cookie = carol.jar.header();
    expect((await carol.fetch('/api/home')).status).toBe(200);
    const out = await carol.fetch('/auth/signout', { method: 'POST', headers: { 'x-csrf-token': carol.csrf! } });
    expect(out.status).toBe(204);
    const after = await fetch(`${gh.url}/api/home`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });

  it('redirects a page request without a session to the sign-in page', async () => {
    const res = await fetch(`${gh.url}/api/home?x=1`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/signin?next=${encodeURIComponent('/api/home?x=1')}`);
    const page = await fetch(`${gh.url}/signin`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('answers bad input with problem+json and a stable code', async () => {
    const cases: Array<[RequestInit, number, string]> = [
      [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }, 415, 'unsupported_media_type'],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' }, 400, 'invalid_body'],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'abc', password: 'p'.repeat(20), admin: true }) }, 400, 'invalid_body'],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'abc', password: 'x'.repeat(70_000) }) }, 413, 'payload_too_large'],
    ];
    for (const [init, status, code] of cases) {
      const res = await fetch(`${gh.url}/auth/signup`, init);
      expect(res.status, code).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ status, code });
      expect(JSON.stringify(body)).not.toMatch(/stack|fastify|undici|kysely|sqlite/i);
    }
    const unknown = await fetch(`${gh.url}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'not_found' });
  });

  it('lets an operator add an admin with the CLI, and only admins reach /api/admin', async () => {
    const add = runCli(['users', 'add', 'root-e2e', '--role', 'admin'], { dataDir, input: 'an admin passphrase 42\n' });
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const root = browser(gh.url);
    const res = await root.fetch('/auth/signin', { method: 'POST', json: { username: 'root-e2e', password: 'an admin passphrase 42' } });
    expect(res.status).toBe(200);
    expect((await root.fetch('/api/admin')).status).toBe(200);
    const dave = await signUpAndIn(gh.url, 'dave-e2e');
    const denied = await dave.fetch('/api/admin');
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'forbidden' });
  });
});
