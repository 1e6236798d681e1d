import type { Deps } from '../context.js';
import { hashSecret, randomId, randomSecret } from '../crypto/secrets.js';
import type { SessionRecord, UserRecord } from '../stores/types.js';
import { canDefer, publishRevocation, recordPending } from './pending-revocations.js';
import type { ReceiptRequest } from './revocation-receipt.js';

// Defined in pending-revocations.ts, whose replay publishes through it (one file: no import cycle).
export { publishRevocation, REVOCATION_KEEP_MS } from './pending-revocations.js';

/** amr of a session signed in with a password alone (RFC 8176 `pwd`). */
export const AMR_PASSWORD: readonly string[] = Object.freeze(['pwd']);
/**
 * amr of a session signed in through an external identity provider: `ext` (not an RFC 8176
 * name; RFC 8176 §2 allows others). What the provider itself checked is not known here (no
 * provider's amr is trusted), so it never satisfies `mfa: true`.
 */
export const AMR_EXTERNAL: readonly string[] = Object.freeze(['ext']);

export interface CreateDeviceSessionInput {
  user: Pick<UserRecord, 'id'>;
  deviceId: string;
  deviceName: string | null;
  /** When the user authenticated (ms), when not now: a device approved from another session keeps that session's. */
  authTime?: number;
  /** false: a browser-session cookie and the shorter server-side lifetime (remember:false). */
  persistent: boolean;
  /** Space-separated scopes of a token session (password grant); omit for a browser session. */
  scope?: string;
  /** How the user proved it (RFC 8176 values, e.g. ['pwd'], ['pwd','otp'], ['hwk']); default ['pwd']. */
  amr?: readonly string[];
}

export interface CreatedDeviceSession {
  session: SessionRecord;
  /** The cookie / bearer secret; only its hash is stored. */
  secret: string;
  /** Ids of this device's earlier sessions, already ended and revoked. */
  replaced: string[];
}

/** Lifetimes of a new session starting at `now` (ms). */
export function sessionExpiry(deps: Deps, now: number, persistent: boolean): { expiresAt: number; absoluteExpiresAt: number } {
  const s = deps.config.session;
  const absoluteExpiresAt = now + s.absoluteTtlSec * 1000;
  const sliding = (persistent ? s.slidingTtlSec : s.browserSessionTtlSec) * 1000;
  return { expiresAt: Math.min(now + sliding, absoluteExpiresAt), absoluteExpiresAt };
}

/**
 * Starts a device session: a fresh id, secret and CSRF token every time (no fixation). The
 * store replaces the device's earlier session in the same transaction; those are revoked here.
 */
/** `request`: the one it is created for, whose answer names the replaced sessions' revocations to the gateway. */
export async function createDeviceSession(deps: Deps, input: CreateDeviceSessionInput, request?: ReceiptRequest): Promise<CreatedDeviceSession> {
  const now = deps.clock.now();
  const secret = randomSecret();
  const session: SessionRecord = {
    id: randomId(),
    tokenHash: hashSecret(secret),
    userId: input.user.id,
    deviceId: input.deviceId,
    deviceName: input.deviceName,
    csrfToken: randomSecret(),
    persistent: input.persistent,
    createdAt: now,
    lastSeenAt: now,
    ...sessionExpiry(deps, now, input.persistent),
    scope: input.scope ?? null,
    amr: [...(input.amr ?? AMR_PASSWORD)],
    authTime: input.authTime ?? now,
  };
  const { replaced } = await deps.stores.sessions.createReplacingDevice(session);
  await revokeSessions(deps, replaced, request);
  return { session, secret, replaced };
}


/** Publishes and records the end of sessions that are already deleted from the store. */
export async function revokeSessions(deps: Deps, sessionIds: readonly string[], request?: ReceiptRequest): Promise<void> {
  const at = deps.clock.now();
  for (const sid of sessionIds) await publishRevocation(deps, { type: 'session', sid, at }, request);
}

/** Which sessions to end. */
export type EndSessionsTarget =
  /**
   * These sessions (ids that no longer exist are skipped). `userId`, the user who asks: needed
   * to end them while the store is away (only that user's sessions are then refused).
   */
  | { sessionIds: readonly string[]; userId?: string }
  /**
   * Every session of the user except `exceptSessionId`. With `allCredentials`, also a user
   * revocation (notBefore = now) so every token issued before now dies (sign-out-all). With
   * `startedBefore` as well, that revocation says `sessions: true`: every session started before
   * now dies too, one a racing sign-in made after the deletion included, and every gateway drops
   * the user's cached sessions and API tokens at once (disabling or deleting an account).
   */
  | { userId: string; exceptSessionId?: string; allCredentials?: boolean; startedBefore?: boolean };

/**
 * Ends sessions: deletes them, then publishes and records a revocation for each. Returns the ended
 * ids. `request`: the one they are ended for, whose answer names the revocations to the gateway.
 */
export async function endSessions(deps: Deps, target: EndSessionsTarget, request?: ReceiptRequest): Promise<string[]> {
  let ended: string[];
  try {
    if ('sessionIds' in target) {
      ended = [];
      for (const id of target.sessionIds) if (await deps.stores.sessions.delete(id)) ended.push(id);
    } else {
      ended = await deps.stores.sessions.deleteByUser(target.userId, target.exceptSessionId);
    }
  } catch (err) {
    if (!canDefer(deps, err)) throw err;
    return endSessionsLater(deps, target, err, request);
  }
  await revokeSessions(deps, ended, request);
  if (!('sessionIds' in target) && target.allCredentials) {
    const now = deps.clock.now();
    await publishRevocation(deps, { type: 'user', userId: target.userId, notBefore: now, at: now, ...(target.startedBefore === true ? { sessions: true } : {}) }, request);
  }
  return ended;
}

/**
 * endSessions while the session store is away: pending revocations (Redis) that every gateway
 * honours at once and that are applied to the store when it is back. Only what the caller can
 * name without the store: given sessions of a known user, or every session of a user
 * (sign-out-all). Returns the session ids asked for (whether each existed is not known yet).
 */
export async function endSessionsLater(deps: Deps, target: EndSessionsTarget, cause?: unknown, request?: ReceiptRequest): Promise<string[]> {
  const at = deps.clock.now();
  if ('sessionIds' in target) {
    const userId = target.userId;
    if (userId === undefined) throw cause;
    for (const sid of target.sessionIds) await recordPending(deps, { type: 'session', sid, userId, at }, cause, request);
    return [...target.sessionIds];
  }
  // Ending every session but one cannot be said without listing them (password change).
  if (target.allCredentials !== true || target.exceptSessionId !== undefined) throw cause;
  await recordPending(deps, { type: 'user', userId: target.userId, notBefore: at, at, sessions: true }, cause, request);
  return [];
}

/** A session the store still returns but that has expired (the sweeper has not run yet). */
export function isSessionLive(session: SessionRecord, now: number): boolean {
  return session.expiresAt > now && session.absoluteExpiresAt > now;
}
