import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSPORT_HEADER } from '@gatehouse/sdk';
import type { Deps } from '../context.js';
import { installPassport } from './passport.js';
import { createTestDeps, mintPassport } from './test-helpers.js';

// The verified passport is a request decoration (passport.ts), not a WeakMap side table.

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
