import { executionAsyncId } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOKED_HEADER } from '../credentials/revocation.js';
import { createAuthHarness, leakingBodies, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';

/**
 * The revocation receipt (revocation-receipt.ts) on every endpoint that revokes on a request's
 * behalf: the answer names exactly the revocations the request published, so the proxying
 * gateway drops them before relaying it. Sign-out and sign-out-all are checked in
 * session-endpoints.test.ts; these are the others. The request is handed down explicitly, and
 * nothing in the auth service may turn on async hooks (AsyncLocalStorage did: every request of
 * a gateway sharing the process paid for them).
 */

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
  for (const name of ['rita', 'sam', 'tess', 'uma']) expect((await signup(h.app, name)).statusCode).toBe(201);
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

type Answer = Awaited<ReturnType<AuthHarness['app']['inject']>>;

/** Runs `act` and checks its answer's receipt against the revocations published meanwhile (at least one). */
async function expectReceipt(act: () => Promise<Answer>, status = 200): Promise<void> {
  h.events.length = 0;
  const res = await act();
  expect(res.statusCode, res.body).toBe(status);
  expect(h.events.length).toBeGreaterThan(0);
  expect(JSON.parse(String(res.headers[REVOKED_HEADER]))).toEqual(h.events);
}

const asSession = async (s: SignedIn) => ({ 'x-passport': await passportFor(h.deps, s) });

describe('the revocation receipt of every revoking endpoint', () => {
  it('DELETE /auth/sessions/:id (remote sign-out)', async () => {
    const phone = await signinOk(h.app, { username: 'rita', password: STRONG_PASSWORD, device_id: 'phone' });
    const laptop = await signinOk(h.app, { username: 'rita', password: STRONG_PASSWORD, device_id: 'laptop' });
    await expectReceipt(async () => h.app.inject({ method: 'DELETE', url: `/auth/sessions/${phone.sid}`, headers: await asSession(laptop) }), 204);
    expect(h.events).toEqual([expect.objectContaining({ type: 'session', sid: phone.sid })]);
  });

  it('POST /auth/password (the other sessions end)', async () => {
    const a = await signinOk(h.app, { username: 'sam', password: STRONG_PASSWORD, device_id: 'a' });
    const b = await signinOk(h.app, { username: 'sam', password: STRONG_PASSWORD, device_id: 'b' });
    await expectReceipt(async () =>
      h.app.inject({ method: 'POST', url: '/auth/password', headers: await asSession(a), payload: { current_password: STRONG_PASSWORD, new_password: 'brand-new-lantern-77' } }),
    204);
    expect(h.events).toEqual([expect.objectContaining({ type: 'session', sid: b.sid })]);
  });

  it('DELETE /auth/api-tokens/:id', async () => {
    const s = await signinOk(h.app, { username: 'tess', password: STRONG_PASSWORD });
    const created = await h.app.inject({ method: 'POST', url: '/auth/api-tokens', headers: await asSession(s), payload: { name: 'ci', scopes: ['notes:read'] } });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json() as { id: string };
    await expectReceipt(async () => h.app.inject({ method: 'DELETE', url: `/auth/api-tokens/${id}`, headers: await asSession(s) }), 204);
    expect(h.events).toEqual([expect.objectContaining({ type: 'api_token', tokenId: id })]);
  });

  it('POST /auth/revoke of a refresh token, an access token and an API token', async () => {
    const grant = await h.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'password', username: 'uma', password: STRONG_PASSWORD, device_id: 'tv' } });
    expect(grant.statusCode, grant.body).toBe(200);
    const { access_token, refresh_token } = grant.json() as { access_token: string; refresh_token: string };
    await expectReceipt(() => h.app.inject({ method: 'POST', url: '/auth/revoke', payload: { token: access_token } }));
    expect(h.events).toEqual([expect.objectContaining({ type: 'access_token' })]);
    await expectReceipt(() => h.app.inject({ method: 'POST', url: '/auth/revoke', payload: { token: refresh_token } }));
    expect(h.events).toEqual([expect.objectContaining({ type: 'session' })]);

    const s = await signinOk(h.app, { username: 'uma', password: STRONG_PASSWORD });
    const created = await h.app.inject({ method: 'POST', url: '/auth/api-tokens', headers: await asSession(s), payload: { name: 'ci', scopes: ['notes:read'] } });
    expect(created.statusCode, created.body).toBe(201);
    const { token } = created.json() as { token: string };
    await expectReceipt(() => h.app.inject({ method: 'POST', url: '/auth/revoke', payload: { token } }));
    expect(h.events).toEqual([expect.objectContaining({ type: 'api_token' })]);
  });

  it('a sign-in that replaces the device’s earlier session', async () => {
    const first = await signinOk(h.app, { username: 'rita', password: STRONG_PASSWORD, device_id: 'tablet' });
    await expectReceipt(() => h.app.inject({ method: 'POST', url: '/auth/signin', payload: { username: 'rita', password: STRONG_PASSWORD, device_id: 'tablet' } }));
    expect(h.events).toEqual([expect.objectContaining({ type: 'session', sid: first.sid })]);
  });

  it('an answer that revoked nothing has no receipt', async () => {
    h.events.length = 0;
    const res = await h.app.inject({ method: 'POST', url: '/auth/revoke', payload: { token: 'not-a-token' } });
    expect(res.statusCode).toBe(200);
    expect(h.events).toEqual([]);
    expect(res.headers[REVOKED_HEADER]).toBeUndefined();
  });
});

describe('no async hooks', () => {
  it('after every revoking endpoint ran, promises still get no async ids (AsyncLocalStorage or createHook would give each await one)', async () => {
    const before = executionAsyncId();
    await null;
    await Promise.resolve();
    expect(executionAsyncId()).toBe(before);
  });
});
