import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret } from '../../crypto/secrets.js';
import { createAuthHarness, signup, type AuthHarness } from '../test-helpers.js';
import { createResetLink, emailOf, requirePasswordChange } from './admin.js';
import { takeEmailToken } from './tokens.js';

describe('recovery functions for admins and the CLI (recovery/admin.ts)', () => {
  let h: AuthHarness;
  let userId: string;
  beforeEach(async () => {
    h = await createAuthHarness({ publicUrl: 'https://auth.example.com' });
    userId = (await signup(h.app, 'rosa')).json<{ id: string }>().id;
  });
  afterEach(async () => {
    await h.close();
  });

  it('createResetLink: a link to /reset-password with the token in the fragment, stored as a hash only, audited with by', async () => {
    const { url, expiresAt } = await createResetLink(h.deps, userId, { adminId: 'admin-1' });
    expect(url).toMatch(/^https:\/\/auth\.example\.com\/reset-password#token=[A-Za-z0-9_-]{43}$/);
    expect(expiresAt).toBe(h.clock.now() + 30 * 60_000);
    const token = url.split('#token=')[1]!;
    const events = await h.deps.stores.audit.listByUser(userId, 10);
    expect(events[0]).toMatchObject({ type: 'password.reset_link_created', detail: { by: 'admin-1' } });
    expect(await takeEmailToken(h.deps, token, 'reset')).toMatchObject({ userId, tokenHash: hashSecret(token) });
  });

  it('createResetLink: a newer link voids the older one; unknown user -> not_found; the CLI is by cli', async () => {
    const first = await createResetLink(h.deps, userId, { adminId: null });
    const second = await createResetLink(h.deps, userId, { adminId: null });
    expect(await takeEmailToken(h.deps, first.url.split('#token=')[1]!, 'reset')).toBeNull();
    expect(await takeEmailToken(h.deps, second.url.split('#token=')[1]!, 'reset')).not.toBeNull();
    expect((await h.deps.stores.audit.listByUser(userId, 1))[0]?.detail).toEqual({ by: 'cli' });
    await expect(createResetLink(h.deps, 'nobody', { adminId: null })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('requirePasswordChange sets the flag and records it; emailOf answers the address and whether it is verified', async () => {
    h.clock.advance(60_000);
    const user = await requirePasswordChange(h.deps, userId, { adminId: 'admin-1' });
    expect(user.passwordChangeRequired).toBe(true);
    expect((await h.deps.stores.users.findById(userId))?.passwordChangeRequired).toBe(true);
    // The user answered is the user as stored now (the admin API's UserRow: updated_at too).
    expect(user).toEqual(await h.deps.stores.users.findById(userId));
    expect((await h.deps.stores.audit.listByUser(userId, 1))[0]).toMatchObject({ type: 'password.change_required', detail: { by: 'admin-1' } });
    await expect(requirePasswordChange(h.deps, 'nobody', { adminId: null })).rejects.toMatchObject({ code: 'not_found' });

    expect(await emailOf(h.deps, userId)).toBeNull();
    await h.deps.stores.emails.set(userId, 'rosa@example.com', h.clock.now());
    expect(await emailOf(h.deps, userId)).toEqual({ address: 'rosa@example.com', verified: false });
    await h.deps.stores.emails.markVerified(userId, 'rosa@example.com', h.clock.now());
    expect(await emailOf(h.deps, userId)).toEqual({ address: 'rosa@example.com', verified: true });
  });
});
