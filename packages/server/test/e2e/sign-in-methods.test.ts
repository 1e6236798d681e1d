import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../../src/stores/sqlite/open-sqlite-stores.js';
import { NO_PASSWORD, type Stores } from '../../src/stores/types.js';
import { systemClock } from '../../src/util/clock.js';
import { signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// Issue 15 through one real `gatehouse start`: the sign-in methods endpoints are cookie writes
// like the other account endpoints, so the gateway refuses them without the CSRF token.
let gh: StartedGatehouse;
let stores: Stores;
const dataDir = tempDataDir();

beforeAll(async () => {
  gh = await startGatehouse(dataDir);
  stores = await openSqliteStores({ file: join(dataDir, 'gatehouse.db'), clock: systemClock });
});
afterAll(async () => {
  await stores?.close();
  await gh?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('sign-in methods through the gateway', () => {
  it('set-password and unlink need the CSRF token with a cookie; with it they work', async () => {
    const web = await signUpAndIn(gh.url, 'methods-e2e');
    const user = (await stores.users.findByCanonical('methods-e2e'))!;
    await stores.users.setPasswordHash(user.id, NO_PASSWORD, Date.now());
    for (const subject of ['one', 'two']) {
      await stores.identities.link({ provider: 'google', subject, userId: user.id, email: null, emailVerified: false, createdAt: Date.now(), lastUsedAt: Date.now() });
    }

    const noCsrf = [
      await web.fetch('/auth/password/set', { method: 'POST', json: { new_password: 'an e2e methods passphrase' } }),
      await web.fetch('/auth/identities/google/one', { method: 'DELETE' }),
    ];
    for (const res of noCsrf) {
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('csrf');
    }
    expect((await stores.users.findById(user.id))!.passwordHash).toBe(NO_PASSWORD);
    expect(await stores.identities.listForUser(user.id)).toHaveLength(2);

    const csrf = { 'x-csrf-token': web.csrf! };
    const listed = await web.fetch('/auth/identities');
    expect(listed.status).toBe(200);
    expect(await listed.json()).toMatchObject({ has_password: false, identities: [{ subject: 'one', removable: true }, { subject: 'two', removable: true }] });
    expect((await web.fetch('/auth/identities/google/one', { method: 'DELETE', headers: csrf })).status).toBe(204);
    const last = await web.fetch('/auth/identities/google/two', { method: 'DELETE', headers: csrf });
    expect(last.status).toBe(409);
    expect(((await last.json()) as { code: string }).code).toBe('last_sign_in_method');
    expect((await web.fetch('/auth/password/set', { method: 'POST', headers: csrf, json: { new_password: 'an e2e methods passphrase' } })).status).toBe(204);
    expect((await web.fetch('/auth/identities/google/two', { method: 'DELETE', headers: csrf })).status).toBe(204);
  });
});
