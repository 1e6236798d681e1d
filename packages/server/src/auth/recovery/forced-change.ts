import type { Deps } from '../../context.js';
import { GatehouseError } from '../../errors/index.js';
import type { UserRecord } from '../../stores/types.js';
import { issueEmailToken } from './tokens.js';

/**
 * A right password for a user an admin asked for a new password (`passwordChangeRequired`):
 * no session; 403 `password_change_required` with a fresh reset token (the same kind as an
 * emailed link: single use, `recovery.resetTtlMin`, voiding older links) for
 * `POST /auth/password/reset`. The password grant answers it in the OAuth shape (oauth.ts).
 * Called only once the password (and any second factor) was proved.
 */
export async function refuseWhenPasswordChangeRequired(deps: Deps, user: UserRecord): Promise<void> {
  if (!user.passwordChangeRequired) return;
  const { token, expiresAt } = await issueEmailToken(deps, user.id, 'reset');
  deps.logger.info({ event: 'signin.password_change_required', userId: user.id }, 'sign-in refused: a new password is required first');
  throw new GatehouseError('password_change_required', {
    detail: 'The password is right, but this account must choose a new password first. Send reset_token with the new password to POST /auth/password/reset, then sign in with it.',
    extra: { reset_token: token, expires_in: Math.max(0, Math.round((expiresAt - deps.clock.now()) / 1000)) },
  });
}
