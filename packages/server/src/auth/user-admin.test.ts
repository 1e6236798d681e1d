import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors/index.js';
import { closeAuthContext, createAuthContext, type AuthContext } from './auth-context.js';
import { createTestDeps, STRONG_PASSWORD } from './test-helpers.js';
import { createUser, grantRole, revokeRole } from './user-admin.js';
import type { Deps } from '../context.js';

let deps: Deps;
let auth: AuthContext;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ deps, close } = await createTestDeps());
  // As the CLI's `users add` does: a context (hasher) of its own on the opened deps.
  auth = createAuthContext(deps);
});
afterAll(async () => {
  await closeAuthContext(auth);
  await close();
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatehouseError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('user admin (used by the CLI)', () => {
  it('createUser applies the sign-up rules and stores roles', async () => {
    const user = await createUser(auth, { username: 'Admin', password: STRONG_PASSWORD, roles: ['admin', 'admin', 'staff'] });
    expect(user).toMatchObject({ username: 'Admin', usernameCanonical: 'admin', roles: ['admin', 'staff'] });
    expect((await deps.stores.users.findById(user.id))?.roles).toEqual(['admin', 'staff']);
    expect(await codeOf(createUser(auth, { username: 'ADMIN', password: STRONG_PASSWORD }))).toBe('username_taken');
    expect(await codeOf(createUser(auth, { username: 'a\u200Bb', password: STRONG_PASSWORD }))).toBe('invalid_username');
    expect(await codeOf(createUser(auth, { username: 'pat', password: 'password' }))).toBe('weak_password');
    expect(await codeOf(createUser(auth, { username: 'pat', password: STRONG_PASSWORD, roles: ['Bad Role'] }))).toBe('invalid_request');
    expect(await deps.stores.users.findByCanonical('pat')).toBeNull();
  });

  it('grantRole / revokeRole by any form of the username, idempotent', async () => {
    await createUser(auth, { username: 'quinn', password: STRONG_PASSWORD });
    expect((await grantRole(deps, 'QUINN', 'admin')).roles).toEqual(['admin']);
    expect((await grantRole(deps, 'quinn', 'admin')).roles).toEqual(['admin']);
    expect((await grantRole(deps, 'quinn', 'notes:editor')).roles).toEqual(['admin', 'notes:editor']);
    expect((await revokeRole(deps, 'quinn', 'admin')).roles).toEqual(['notes:editor']);
    expect((await deps.stores.users.findByCanonical('quinn'))?.roles).toEqual(['notes:editor']);
    expect(await codeOf(grantRole(deps, 'nobody-at-all', 'admin'))).toBe('not_found');
    expect(await codeOf(grantRole(deps, 'quinn', ''))).toBe('invalid_request');
  });
});
