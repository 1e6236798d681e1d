import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { hashSecret } from '../crypto/secrets.js';
import { generateRefreshToken, isRefreshTokenShape, refreshTokenSuccessor } from '../credentials/token-formats.js';
import { GatehouseError } from '../errors/index.js';
import { isDisabled, type SessionRecord, type UserSummary } from '../stores/types.js';
import { recordAudit } from './audit.js';
import { authMetricsOf } from './auth-metrics.js';
import { endSessions, isSessionLive, sessionExpiry } from './sessions.js';
import { grantableScopes, narrowScopes, parseScope } from '../credentials/scope.js';

/**
 * A refresh token presented again within this long after its rotation (a retry after a lost
 * answer, two tabs racing) gets the same successor; later, it counts as stolen (RFC 9700 §4.14).
 */
export const REFRESH_REUSE_GRACE_MS = 10_000;

function invalidGrant(detail = 'The refresh token is invalid, expired or revoked.'): GatehouseError {
  return new GatehouseError('invalid_grant', { detail });
}

/**
 * Issues the first refresh token of a new device session, bound to `clientId` (a registered
 * client's device-flow session) or to the first-party client (null). Throws `invalid_grant` if
 * the session already ended.
 */
export async function issueFirstRefreshToken(deps: Deps, session: SessionRecord, clientId: string | null = null): Promise<string> {
  const token = generateRefreshToken();
  const created = await deps.stores.refreshTokens.create({ tokenHash: hashSecret(token), sessionId: session.id, createdAt: deps.clock.now(), rotatedAt: null, clientId });
  if (!created) throw invalidGrant('The device signed in again or was signed out meanwhile.');
  return token;
}

export interface RedeemedRefreshToken {
  session: SessionRecord;
  /** The session's user, without its password hash (a refresh never needs it). */
  user: UserSummary;
  /** The successor to hand out (the same for every presentation of one token within the grace period). */
  refreshToken: string;
  /** Space-separated scopes of the new access token: the session's, or the narrower requested ones. */
  scope: string;
  /** 'rotated': this call rotated it; 'retry': it was rotated <= 10 s ago by an earlier call. */
  outcome: 'rotated' | 'retry';
}

/**
 * Redeems a refresh token (grant_type=refresh_token): current -> rotates it (compare-and-swap)
 * and slides the session; rotated <= 10 s ago -> the same successor; rotated earlier -> theft:
 * the device session ends (and is revoked on the feed). Anything else is `invalid_grant`.
 * `clientId` is the client presenting it (null: the first-party client): a token issued to
 * another client is `invalid_grant` before anything else is looked at, so a stranger holding a
 * rotated token cannot even end the session with it.
 * Store calls: one read (the token with its session and user) and, to rotate, one write
 * transaction (the slide, the compare-and-swap and the successor together).
 */
export async function redeemRefreshToken(
  deps: Deps,
  token: string,
  requestedScopes?: readonly string[],
  request?: FastifyRequest,
  clientId: string | null = null,
): Promise<RedeemedRefreshToken> {
  if (!isRefreshTokenShape(token)) throw invalidGrant();
  const hash = hashSecret(token);
  const found = await deps.stores.refreshTokens.findWithSession(hash);
  if (!found) throw invalidGrant();
  const { token: record, session, user } = found;
  if (record.clientId !== clientId) throw invalidGrant('The refresh token was issued to another client.');
  const now = deps.clock.now();
  if (!isSessionLive(session, now)) throw invalidGrant();
  // Disabling ends every session; this refuses a token of one a racing sign-in made (issue 18).
  if (isDisabled(user)) throw invalidGrant();
  if (record.rotatedAt !== null && now - record.rotatedAt > REFRESH_REUSE_GRACE_MS) {
    await theft(deps, user, session, now - record.rotatedAt, request);
  }
  // Checked before rotating, so a refused scope does not use the token up.
  const granted = session.scope ? parseScope(session.scope) : grantableScopes(deps.config);
  const scope = narrowScopes(requestedScopes, granted).join(' ');

  const successor = refreshTokenSuccessor(deps.refreshRotationKey, token);
  if (record.rotatedAt === null) {
    const next = { tokenHash: hashSecret(successor), sessionId: session.id, createdAt: now, rotatedAt: null, clientId: record.clientId };
    const result = await deps.stores.refreshTokens.rotate(hash, next, now, sessionExpiry(deps, now, session.persistent).expiresAt);
    if (result === 'unknown') throw invalidGrant(); // the session ended meanwhile
    if (result === 'rotated') return { session, user, scope, refreshToken: successor, outcome: 'rotated' };
    // 'already_rotated': a concurrent refresh of the same token won the race just now.
  }
  return { session, user, scope, refreshToken: successor, outcome: 'retry' };
}

/** A rotated token presented again after the grace period: someone else holds the family. */
async function theft(deps: Deps, user: UserSummary, session: SessionRecord, rotatedAgoMs: number, request: FastifyRequest | undefined): Promise<never> {
  authMetricsOf(deps).refreshReuse();
  await endSessions(deps, { sessionIds: [session.id] }, request);
  await recordAudit(deps, request ?? null, {
    type: 'refresh.reuse_detected',
    userId: user.id,
    deviceId: session.deviceId,
    detail: { sid: session.id, rotated_ago_ms: rotatedAgoMs, session_ended: true },
  });
  throw invalidGrant();
}
