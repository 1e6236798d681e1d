import type { FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { GatehouseError } from '../../errors/index.js';
import type { SessionRecord, UserRecord } from '../../stores/types.js';
import type { AuthContext } from '../auth-context.js';
import { publishRevocation } from '../pending-revocations.js';

/**
 * Re-authentication on a live session (issue 17, step-up): the user proves again who they are and
 * the session's amr and auth_time change in place (no new session, no new cookie), then every
 * gateway re-reads it at once (`session_auth` event on the revocation feed). One endpoint
 * (`POST /auth/reauth`) takes every proof registered in `REAUTH_PROOFS`: a proof is one body
 * field and a check that answers the RFC 8176 methods it shows. The password is the first; a
 * second factor (TOTP code, passkey assertion) adds its own entry.
 */
export interface ReauthProof {
  /** The body field that carries it (e.g. `password`). */
  readonly field: string;
  /** JSON schema of that field. */
  readonly schema: Record<string, unknown>;
  /**
   * Checks the proof for `user`; answers the RFC 8176 methods it shows (`['pwd']`), or throws a
   * GatehouseError (401 `invalid_credentials`, 429 `rate_limited`). Guesses count where the
   * proof's own guesses count (the password: the same lock as a password change).
   */
  verify(ctx: ReauthContext, user: UserRecord, value: unknown): Promise<readonly string[]>;
}

export interface ReauthContext {
  readonly deps: Deps;
  readonly auth: AuthContext;
  readonly request: FastifyRequest;
}

/**
 * The amr of a re-authentication that passed `proofs`, in order, each method once; `mfa` is added
 * when two different proofs passed (a password and a one-time code), as RFC 8176 defines it.
 */
export function combinedAmr(proofs: readonly (readonly string[])[]): string[] {
  const amr: string[] = [];
  for (const methods of proofs) for (const m of methods) if (!amr.includes(m)) amr.push(m);
  if (proofs.length > 1 && !amr.includes('mfa')) amr.push('mfa');
  return amr;
}

/**
 * Records the re-authentication: the session's amr and auth_time (now) in the store, then the
 * `session_auth` event (durable, then spread), so no gateway serves the old values from its cache.
 * Throws 401 `unauthenticated` when the session is gone.
 */
export async function recordReauthentication(deps: Deps, session: { id: string; userId: string }, amr: readonly string[], request?: FastifyRequest): Promise<SessionRecord> {
  const now = deps.clock.now();
  const updated = await deps.stores.sessions.recordAuthentication(session.id, amr, now);
  if (updated === null || updated.userId !== session.userId) {
    throw new GatehouseError('unauthenticated', { detail: 'This session has ended: sign in again.' });
  }
  await publishRevocation(deps, { type: 'session_auth', sid: session.id, userId: session.userId, authTime: updated.authTime ?? now, at: now }, request);
  return updated;
}
