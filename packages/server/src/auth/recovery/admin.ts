import { by, userNotFound, userOrNotFound, type Actor } from '../admin/lifecycle.js';
import type { Deps } from '../../context.js';
import type { UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { issueEmailToken, resetLink } from './tokens.js';

/**
 * A password reset link for the user, made by an admin or the CLI (no SMTP needed): shown once
 * (only its hash is stored), good for `recovery.resetTtlMin`, once; a newer one (or a
 * forgotten-password mail) voids it. Audit `password.reset_link_created` {by}.
 */
export async function createResetLink(deps: Deps, userId: string, actor: Actor): Promise<{ url: string; expiresAt: number }> {
  const user = await userOrNotFound(deps, userId);
  const { token, expiresAt } = await issueEmailToken(deps, user.id, 'reset');
  await recordAudit(deps, actor.request ?? null, { type: 'password.reset_link_created', userId: user.id, detail: { by: by(actor) } });
  return { url: resetLink(deps, token), expiresAt };
}

/**
 * Asks the user for a new password at the next sign-in (a right password then answers 403
 * password_change_required with a reset token instead of a session). Idempotent. Existing
 * sessions are kept (end them with endAllSessions if the password may be known to someone
 * else). Audit `password.change_required` {by}.
 */
export async function requirePasswordChange(deps: Deps, userId: string, actor: Actor): Promise<UserRecord> {
  const user = await userOrNotFound(deps, userId);
  const now = deps.clock.now();
  if (!(await deps.stores.users.setPasswordChangeRequired(userId, true, now))) throw userNotFound();
  await recordAudit(deps, actor.request ?? null, { type: 'password.change_required', userId, detail: { by: by(actor) } });
  return { ...user, passwordChangeRequired: true, updatedAt: now };
}

/** The user's email address and whether it is verified; null when none. */
export async function emailOf(deps: Deps, userId: string): Promise<{ address: string; verified: boolean } | null> {
  const e = await deps.stores.emails.get(userId);
  return e ? { address: e.address, verified: e.verifiedAt !== null } : null;
}
