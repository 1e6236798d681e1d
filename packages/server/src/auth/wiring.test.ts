import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PASSPORT_HEADER } from '@gatehouse/sdk';
import type { Deps } from '../context.js';
import { closeAuthContext, createAuthContext } from './auth-context.js';
import { buildAuthService } from './auth-service.js';
import { installPassport } from './passport.js';
import { createAuthHarness, createTestDeps, mintPassport, signin, signup, STRONG_PASSWORD } from './test-helpers.js';

// The auth service's state is handed on explicitly (auth-context.ts, endpoint-context.ts) and the
// verified passport is a request decoration (passport.ts), not WeakMap side tables.

describe('the auth context handed to the service', () => {
  it('is the one the endpoints hash with, and it closes with the service (background audit first)', async () => {
    const h = await createAuthHarness();
    try {
      const hash = vi.spyOn(h.auth.hasher, 'hash');
      const verify = vi.spyOn(h.auth.hasher, 'verify');
      expect((await signup(h.app, 'wired')).statusCode).toBe(201);
      expect(hash).toHaveBeenCalledTimes(1);
      expect((await signin(h.app, { username: 'wired', password: STRONG_PASSWORD })).statusCode).toBe(200);
      expect((await signin(h.app, { username: 'wired', password: `${STRONG_PASSWORD}!` })).statusCode).toBe(401);
      expect(verify).toHaveBeenCalledTimes(2);
      const settle = vi.spyOn(h.auth.backgroundAudit, 'settle');
      const close = vi.spyOn(h.auth.hasher, 'close');
      await h.app.close();
      expect(settle).toHaveBeenCalledTimes(1);
      expect(close).toHaveBeenCalledTimes(1);
      expect(settle.mock.invocationCallOrder[0]!).toBeLessThan(close.mock.invocationCallOrder[0]!);
    } finally {
      await h.close();
    }
  });

  it('must be built on the same deps as the service', async () => {
    const a = await createTestDeps();
    const b = await createTestDeps();
    const other = createAuthContext(b.deps);
    try {
      await expect(buildAuthService(a.deps, other)).rejects.toThrow(/other deps/);
    } finally {
      await closeAuthContext(other);
      await a.close();
      await b.close();
    }
  });
});

describe('request.passport', () => {
  let deps: Deps;
  let closeDeps: () => Promise<void>;
  const app = Fastify();
  beforeAll(async () => {
    ({ deps, close: closeDeps } = await createTestDeps());
    const authenticate = installPassport(app, deps);
    app.get('/private', { preHandler: authenticate }, async (request) => ({ passport: request.passport }));
    app.get('/public', async (request) => ({ passport: request.passport }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await closeDeps();
  });

  it('holds the verified claims after the passport hook, and is null where the hook did not run', async () => {
    const token = await mintPassport(deps, { sub: 'user-1', username: 'ana', roles: ['staff'] });
    const res = await app.inject({ method: 'GET', url: '/private', headers: { [PASSPORT_HEADER]: token } });
    expect(res.statusCode).toBe(200);
    expect(res.json().passport).toMatchObject({ sub: 'user-1', username: 'ana', roles: ['staff'], aud: 'auth' });
    const pub = await app.inject({ method: 'GET', url: '/public', headers: { [PASSPORT_HEADER]: token } });
    expect(pub.json()).toEqual({ passport: null });
  });

  it('is never set from an invalid passport: the hook answers 401 first', async () => {
    const bad = await mintPassport(deps, { sub: 'user-1', username: 'ana', roles: [] }, { aud: 'notes' });
    expect((await app.inject({ method: 'GET', url: '/private', headers: { [PASSPORT_HEADER]: bad } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/private' })).statusCode).toBe(401);
  });
});
