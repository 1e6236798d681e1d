import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashSecret } from '../crypto/secrets.js';
import { resolveApiToken } from '../credentials/api-token.js';
import { createAuthHarness, leakingBodies, mintPassport, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
let vera: string;
let walt: string;
beforeAll(async () => {
  h = await createAuthHarness();
  vera = (await signup(h.app, 'vera')).json().id as string;
  walt = (await signup(h.app, 'walt')).json().id as string;
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

type Auth = 'session' | 'access_token' | 'api_token';

async function as(userId: string, username: string, auth: Auth = 'session', scope?: string): Promise<Record<string, string>> {
  const extra = auth === 'api_token' ? { scope: scope ?? 'notes:read' } : auth === 'access_token' ? { sid: 'sid-x', did: 'dev-x', scope: scope ?? 'notes:read notes:write' } : { sid: 'sid-x', did: 'dev-x' };
  return { 'x-passport': await mintPassport(h.deps, { sub: userId, username, roles: [], auth, ...extra }) };
}

async function create(body: Record<string, unknown>, headers?: Record<string, string>) {
  return h.app.inject({ method: 'POST', url: '/auth/api-tokens', payload: body, headers: headers ?? (await as(vera, 'vera')) });
}

describe('API tokens', () => {
  it('create -> 201 with the token shown once (no-store); list has no secrets; the store has only the hash', async () => {
    const res = await create({ name: 'deploy script', scopes: ['notes:read'], expires_in: 3600 });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const b = res.json() as { id: string; name: string; token: string; scopes: string[]; expires_at: string };
    expect(Object.keys(b).sort()).toEqual(['expires_at', 'id', 'name', 'scopes', 'token']);
    expect(b).toMatchObject({ name: 'deploy script', scopes: ['notes:read'], expires_at: new Date(h.clock.now() + 3600_000).toISOString() });
    expect(b.token).toMatch(/^gh_[0-9A-Za-z]{49}$/);

    const list = await h.app.inject({ method: 'GET', url: '/auth/api-tokens', headers: await as(vera, 'vera') });
    expect(list.statusCode).toBe(200);
    const rows = list.json() as Array<Record<string, unknown>>;
    expect(rows).toEqual([{ id: b.id, name: 'deploy script', scopes: ['notes:read'], created_at: new Date(h.clock.now()).toISOString(), expires_at: b.expires_at, last_used_at: null }]);
    expect(list.body).not.toContain(b.token);
    expect(list.body).not.toContain(b.token.slice(3, 20));
    expect(list.body).not.toContain(hashSecret(b.token));
    const stored = await h.deps.stores.apiTokens.findByHash(hashSecret(b.token));
    expect(stored).toMatchObject({ id: b.id, userId: vera });
    // Another user sees none of them.
    const other = await h.app.inject({ method: 'GET', url: '/auth/api-tokens', headers: await as(walt, 'walt') });
    expect(other.json()).toEqual([]);
  });

  it('defaults: every default scope, no expiry; names are trimmed; bad input is refused', async () => {
    const res = await create({ name: '  ci  ' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ name: 'ci', scopes: ['notes:read', 'notes:write'], expires_at: null });
    for (const [body, code] of [
      [{ name: '' }, 'invalid_body'],
      [{ name: '   ' }, 'invalid_body'],
      [{ name: 'x'.repeat(101) }, 'invalid_body'],
      [{ name: 'a\u0007b' }, 'invalid_body'],
      [{ name: 'x', scopes: ['admin:all'] }, 'invalid_scope'],
      [{ name: 'x', scopes: ['notes:read notes:write'] }, 'invalid_scope'],
      [{ name: 'x', expires_in: 59 }, 'invalid_body'],
      [{ name: 'x', expires_in: 11 * 365 * 24 * 3600 }, 'invalid_body'],
      [{ name: 'x', expires_in: '3600' }, 'invalid_body'],
      [{ name: 'x', token: 'mine' }, 'invalid_body'],
    ] as const) {
      const r = await create(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().code, JSON.stringify(body)).toBe(code);
    }
  });

  it('an API-token caller cannot create tokens (403, even with the account scope); an access-token caller needs the account scope and cannot exceed its own scopes', async () => {
    for (const scope of ['notes:read', 'account']) {
      const byApi = await create({ name: 'more' }, await as(vera, 'vera', 'api_token', scope));
      expect(byApi.statusCode).toBe(403);
      expect(byApi.json().code).toBe('credential_not_allowed');
    }
    const noAccount = await create({ name: 'more' }, await as(vera, 'vera', 'access_token', 'notes:read notes:write'));
    expect(noAccount.statusCode).toBe(403);
    expect(noAccount.json()).toMatchObject({ code: 'insufficient_scope', scope: 'account' });
    expect(noAccount.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="insufficient_scope", scope="account"');
    const narrowBearer = await as(vera, 'vera', 'access_token', 'account notes:read');
    const wider = await create({ name: 'wider', scopes: ['notes:write'] }, narrowBearer);
    expect(wider.statusCode).toBe(400);
    expect(wider.json().code).toBe('invalid_scope');
    const same = await create({ name: 'same' }, narrowBearer);
    expect(same.statusCode).toBe(201);
    expect(same.json().scopes).toEqual(['notes:read']);
    // Only a browser session gives a new token the account scope.
    const accountByBearer = await create({ name: 'acct', scopes: ['account'] }, narrowBearer);
    expect(accountByBearer.statusCode).toBe(400);
    expect(accountByBearer.json().code).toBe('invalid_scope');
    const accountBySession = await create({ name: 'acct', scopes: ['account', 'notes:read'] });
    expect(accountBySession.statusCode, accountBySession.body).toBe(201);
    expect(accountBySession.json().scopes).toEqual(['account', 'notes:read']);
    expect((await create({ name: 'x' }, {})).statusCode).toBe(401);
  });

  it('resolveApiToken: the owner and record for a live token; null for expired, deleted, unknown or mistyped ones', async () => {
    const b = (await create({ name: 'resolve', expires_in: 120 })).json() as { id: string; token: string };
    const resolved = await resolveApiToken(h.deps, b.token);
    expect(resolved?.token.id).toBe(b.id);
    expect(resolved?.user).toMatchObject({ id: vera, username: 'vera' });
    expect(resolved?.user).not.toHaveProperty('passwordHash');

    const spy = vi.spyOn(h.deps.stores.apiTokens, 'getWithUser');
    try {
      const i = 20;
      const typo = b.token.slice(0, i) + (b.token[i] === 'a' ? 'b' : 'a') + b.token.slice(i + 1);
      expect(await resolveApiToken(h.deps, typo)).toBeNull();
      expect(await resolveApiToken(h.deps, b.token.slice(0, -1))).toBeNull();
      expect(await resolveApiToken(h.deps, `ghr_${'a'.repeat(43)}`)).toBeNull();
      expect(spy).not.toHaveBeenCalled();
      // A well-formed token that was never issued costs one lookup.
      const { generateApiToken } = await import('../credentials/token-formats.js');
      expect(await resolveApiToken(h.deps, generateApiToken())).toBeNull();
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }

    h.clock.advance(120_000);
    expect(await resolveApiToken(h.deps, b.token)).toBeNull();
  });

  it('DELETE -> 204 and an api_token revocation on the feed; 404 for another user\'s or an unknown token', async () => {
    const b = (await create({ name: 'to delete' })).json() as { id: string; token: string };
    const byWalt = await h.app.inject({ method: 'DELETE', url: `/auth/api-tokens/${b.id}`, headers: await as(walt, 'walt') });
    expect(byWalt.statusCode).toBe(404);
    expect(await resolveApiToken(h.deps, b.token)).not.toBeNull();

    const before = h.events.length;
    const res = await h.app.inject({ method: 'DELETE', url: `/auth/api-tokens/${b.id}`, headers: await as(vera, 'vera') });
    expect(res.statusCode).toBe(204);
    expect(h.events.slice(before)).toEqual([{ type: 'api_token', tokenId: b.id, at: h.clock.now() }]);
    expect(await h.deps.stores.revocations.since(h.clock.now() - 1)).toContainEqual({ type: 'api_token', tokenId: b.id, at: h.clock.now() });
    expect(await resolveApiToken(h.deps, b.token)).toBeNull();
    const again = await h.app.inject({ method: 'DELETE', url: `/auth/api-tokens/${b.id}`, headers: await as(vera, 'vera') });
    expect(again.statusCode).toBe(404);
  });

  it('API tokens survive sign-out-all and password change (deleting them is explicit)', async () => {
    const b = (await create({ name: 'survivor' })).json() as { token: string };
    const so = await h.app.inject({ method: 'POST', url: '/auth/signout-all', headers: await as(vera, 'vera') });
    expect(so.statusCode).toBe(204);
    expect(await resolveApiToken(h.deps, b.token)).not.toBeNull();
    const pw = await h.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: await as(vera, 'vera'),
      payload: { current_password: STRONG_PASSWORD, new_password: 'quiet-heron-paints-77' },
    });
    expect(pw.statusCode, pw.body).toBe(204);
    expect(await resolveApiToken(h.deps, b.token)).not.toBeNull();
  });
});
