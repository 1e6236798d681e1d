import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../credentials/access-token.js';
import { hashSecret, randomId } from '../crypto/secrets.js';
import { generateApiToken } from '../credentials/token-formats.js';
import { canonicalUsername } from '../auth/policy/username.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';

/*
 * Issue 15, a username changed (POST /auth/username) reaches the passports of every credential
 * kind the way a role change does (role-change.test.ts): nothing is published; the gateway's
 * caches of a user (the credential cache's joined user for cookies and API tokens,
 * `CurrentUsers` for access tokens) are read again after `session.cacheTtlMs` (30 s).
 */

const BOUND_MS = 30_000;

let h: GatewayHarness;
beforeAll(async () => {
  h = await createGatewayHarness({ routes: (upstream) => [{ path: '/api/home', upstream, service: 'home', auth: 'required' }] });
  expect(h.deps.config.session.cacheTtlMs).toBe(BOUND_MS);
});
afterAll(async () => {
  await h?.close();
});

async function passportUsernames(headers: Record<string, Array<[string, string]>>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [kind, hs] of Object.entries(headers)) {
    const res = await send(h.url, '/api/home', { headers: hs });
    expect(res.status, kind).toBe(200);
    const passport = h.upstream.received.at(-1)!.headers['x-passport'] as string;
    out[kind] = (await h.verifyPassport(passport, 'home')).username as string;
  }
  return out;
}

describe('a renamed user: passports carry the new username within session.cacheTtlMs (30 s)', () => {
  it('cookie, API token and an access token issued before the rename all show the new name after the bound (the old one before it)', async () => {
    const user = await h.createUser('old-handle');
    const browser = await h.signIn(user);
    const token = generateApiToken();
    await h.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'script', tokenHash: hashSecret(token), scopes: ['notes:read'], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
    const tv = await h.signIn(user, { deviceId: 'tv' });
    const at = await issueAccessToken(h.deps, { user, session: { ...tv.session, scope: 'notes:read' }, scope: 'notes:read' });
    const kinds = { cookie: [['Cookie', browser.cookie]], api_token: [['Authorization', `Bearer ${token}`]], access_token: [['Authorization', `Bearer ${at.token}`]] } as Record<string, Array<[string, string]>>;
    const all = (name: string) => ({ cookie: name, api_token: name, access_token: name });
    expect(await passportUsernames(kinds)).toEqual(all('old-handle'));

    expect(await h.deps.stores.users.rename(user.id, 'New-Handle', canonicalUsername('New-Handle'), h.clock.now())).toBe(true);
    // Within the bound the cached user may still answer (no store call on the hot path).
    h.clock.advance(BOUND_MS - 1);
    expect(await passportUsernames(kinds)).toEqual(all('old-handle'));
    h.clock.advance(1);
    expect(await passportUsernames(kinds)).toEqual(all('New-Handle'));
  });
});
