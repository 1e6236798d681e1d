import type { FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { keyedHash } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { publishRevocation } from '../pending-revocations.js';
import { endSessions } from '../sessions.js';
import { checkRole } from '../user-admin.js';

/**
 * Account lifecycle (issue 18): what an admin (the admin API, `auth/endpoints/admin-*.ts`) or an
 * operator (`gatehouse users disable|enable|delete|signout-all`) does to another user's account.
 * Rules the callers add (the last admin, the guard) are theirs; these only act, revoke and record.
 */

/** Who acts: an admin (their user id, and the request, whose answer names the revocations to the gateway), or the CLI (`adminId` null). */
export interface Actor {
  adminId: string | null;
  request?: FastifyRequest | null;
}

/** What the target's audit events say did it: the admin's id, or 'cli'. */
export function by(actor: Actor): string {
  return actor.adminId ?? 'cli';
}

/** 404 `not_found` for a user id that names nobody (any more). */
export function userNotFound(): GatehouseError {
  return new GatehouseError('not_found', { detail: 'No user has that id; list users to find it (it may have been deleted).' });
}

/** The user of `userId`, or 404 `not_found` (the admin API's `:id` routes and the CLI's lifecycle commands). */
export async function userOrNotFound(deps: Deps, userId: string): Promise<UserRecord> {
  const user = await deps.stores.users.findById(userId);
  if (!user) throw userNotFound();
  return user;
}

/**
 * Ends every session of the user (and with them their refresh tokens), publishing each, then a
 * `user` revocation (notBefore = now, sessions: true): every access token issued before now
 * dies, and every gateway drops the user's cached sessions and API tokens at once (an API token
 * is re-read, and refused while the user is disabled). While the session store is away, the
 * sign-out-all waits in Redis as a pending revocation, as for POST /auth/signout-all
 * (`endSessions`). Returns the sessions ended.
 */
function revokeEverything(deps: Deps, userId: string, actor: Actor): Promise<string[]> {
  return endSessions(deps, { userId, allCredentials: true, startedBefore: true }, actor.request ?? undefined);
}

/**
 * Disables the user: `disabledAt` set (a disabled user keeps the first time: idempotent), every
 * session and refresh token ended, every access token dead (`user` revocation), every API token
 * refused while disabled (kept in the store: they work again after `enableUser`). Every sign-in
 * path refuses a disabled user as a wrong password. Audit `account.disabled` {by} on the user
 * (only when it changed). Throws `not_found`.
 */
export async function disableUser(deps: Deps, userId: string, actor: Actor): Promise<UserRecord> {
  const before = await userOrNotFound(deps, userId);
  const now = deps.clock.now();
  const user = !isDisabled(before) ? await deps.stores.users.setDisabled(userId, now, now) : before;
  if (!user) throw userNotFound();
  // Again when disabled already: a session a racing sign-in made goes too.
  const ended = await revokeEverything(deps, userId, actor);
  if (!isDisabled(before)) {
    await recordAudit(deps, null, { type: 'account.disabled', userId, deviceId: null, detail: { by: by(actor), sessions_ended: ended.length } });
    deps.logger.info({ event: 'user.disabled', userId, by: by(actor), sessionsEnded: ended.length }, 'user disabled');
  }
  return user;
}

/**
 * Enables a disabled user again: they may sign in, and their API tokens work again. A `user`
 * event makes every gateway re-read the user's cached credentials at once (instead of within
 * `session.cacheTtlMs`); it revokes nothing live (disabling ended it all). Idempotent; audit
 * `account.enabled` {by} only when it changed. Throws `not_found`.
 */
export async function enableUser(deps: Deps, userId: string, actor: Actor): Promise<UserRecord> {
  const before = await userOrNotFound(deps, userId);
  if (!isDisabled(before)) return before;
  const now = deps.clock.now();
  const user = await deps.stores.users.setDisabled(userId, null, now);
  if (!user) throw userNotFound();
  await publishRevocation(deps, { type: 'user', userId, notBefore: now, at: now }, actor.request ?? undefined);
  await recordAudit(deps, null, { type: 'account.enabled', userId, deviceId: null, detail: { by: by(actor) } });
  deps.logger.info({ event: 'user.enabled', userId, by: by(actor) }, 'user enabled');
  return user;
}

/** Prefix of a deleted user's pseudonym in the audit log. */
export const DELETED_PREFIX = 'deleted:';

/**
 * What a deleted user's audit events keep as their user id: `deleted:` and the HMAC-SHA-256 of
 * the id under a key derived from the master key, base64url, 22 characters (132 bits). Stable
 * (the same user always maps to the same pseudonym, so their events stay together), and not
 * reversible without the master key (nobody can test a known user id against it).
 */
export function auditPseudonym(deps: Pick<Deps, 'auditPseudonymKey'>, userId: string): string {
  return DELETED_PREFIX + keyedHash(deps.auditPseudonymKey, userId).slice(0, 22);
}

/**
 * Deletes the user (docs/data-deletion.md): disables and revokes first (as `disableUser`), then,
 * in one store transaction, removes the user and every row of theirs, pseudonymises their audit
 * events (`auditPseudonym`; ip, device, user agent and detail cleared) and quarantines their
 * username for `users.deletedUsernameQuarantineDays`; then every gateway drops their API tokens
 * (`api_token` events) and one `account.deleted` {by} event is recorded on the pseudonym.
 * Throws `not_found`.
 */
export async function deleteUser(deps: Deps, userId: string, actor: Actor): Promise<void> {
  const user = await userOrNotFound(deps, userId);
  const now = deps.clock.now();
  // Disabled first: a sign-in racing the deletion is refused, not given a session.
  if (!isDisabled(user)) await deps.stores.users.setDisabled(userId, now, now);
  await revokeEverything(deps, userId, actor);
  const tokens = await deps.stores.apiTokens.listByUser(userId);
  const days = deps.config.users.deletedUsernameQuarantineDays;
  const subject = auditPseudonym(deps, userId);
  const deleted = await deps.stores.users.delete(userId, {
    auditSubject: subject,
    quarantineUntil: days > 0 ? deps.clock.now() + days * 86_400_000 : null,
  });
  if (!deleted) throw userNotFound();
  const at = deps.clock.now();
  for (const t of tokens) await publishRevocation(deps, { type: 'api_token', tokenId: t.id, at, userId }, actor.request ?? undefined);
  await recordAudit(deps, null, { type: 'account.deleted', userId: subject, deviceId: null, detail: { by: by(actor) } });
  deps.logger.info({ event: 'user.deleted', userId, pseudonym: subject, by: by(actor), apiTokens: tokens.length }, 'user deleted');
}

/**
 * Ends every session of the user, as their own sign-out-all does (POST /auth/signout-all): every
 * session and refresh token, and every access token issued before now. Audit `signout_all`
 * {by, ended}. Throws `not_found`. Returns how many sessions ended.
 */
export async function endAllSessions(deps: Deps, userId: string, actor: Actor): Promise<number> {
  await userOrNotFound(deps, userId);
  const ended = await endSessions(deps, { userId, allCredentials: true }, actor.request ?? undefined);
  await recordAudit(deps, null, { type: 'signout_all', userId, deviceId: null, detail: { by: by(actor), ended: ended.length } });
  deps.logger.info({ event: 'user.signout_all', userId, by: by(actor), ended: ended.length }, 'every session of a user ended');
  return ended.length;
}

/**
 * Sets the user's roles (each checked by `checkRole`, duplicates dropped, order kept). No
 * last-admin rule here (the admin API adds it). Running gateways see the change within
 * `session.cacheTtlMs`, as with `gatehouse users grant`. Audit `roles.changed` {by, roles}
 * when they changed. Throws `invalid_request` (a bad role), `not_found`.
 */
export async function setUserRoles(deps: Deps, userId: string, roles: string[], actor: Actor): Promise<UserRecord> {
  const next = [...new Set(roles.map(checkRole))];
  const user = await userOrNotFound(deps, userId);
  if (next.length === user.roles.length && next.every((r, i) => r === user.roles[i])) return user;
  const now = deps.clock.now();
  await deps.stores.users.setRoles(userId, next, now);
  await recordAudit(deps, null, { type: 'roles.changed', userId, deviceId: null, detail: { by: by(actor), roles: next.join(',') } });
  deps.logger.info({ event: 'user.roles.set', userId, by: by(actor), roles: next }, 'roles set');
  return { ...user, roles: next, updatedAt: now };
}
