import { hashSecret, randomId } from '../../crypto/secrets.js';
import { isDeviceCodeShape } from '../../credentials/token-formats.js';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import { invalidClient } from '../client-auth.js';
import { deviceFlowClient, forgetPolls, pollTooSoon } from '../device-flow.js';
import { clientIp } from '../endpoint-context.js';
import { requireParam } from '../oauth.js';
import { issueFirstRefreshToken } from '../refresh-token.js';
import { createDeviceSession, endSessions } from '../sessions.js';
import { isDisabled, type DeviceCodeRecord, type SessionRecord } from '../../stores/types.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';
import { answerUserToken } from './user-token-answer.js';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** How much the interval grows with each slow_down (RFC 8628 §3.5). */
export const SLOW_DOWN_STEP_SEC = 5;

const unknownCode = (): GatehouseError =>
  new GatehouseError('invalid_grant', { detail: 'The device code is unknown, was used already, or belongs to another client. Start again with POST /auth/device/authorize.' });

/**
 * grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 §3.4–3.5) with device_code
 * and the client (a public client by client_id, a confidential one with its secret): the poll
 * of a TV or CLI. While the user has not decided: authorization_pending, or slow_down when it
 * came sooner than the interval (which grows by 5 s, stored); denied: access_denied; past its
 * lifetime: expired_token; unknown, used, or another client's: invalid_grant. Once approved, the
 * first poll redeems it (one conditional UPDATE: exactly once across instances) and gets an
 * access token and a rotating refresh token (bound to the client) of a new device session for
 * the approving user, with its own sid, did and the device name.
 *
 * A poll that changes nothing costs one SHA-256 and one read: its time is kept in memory
 * (device-flow.ts), and only a slow_down writes.
 */
export const deviceCodeGrant: Grant = {
  type: DEVICE_CODE_GRANT_TYPE,
  params: { client_id: CLIENT_ID_PARAM, client_secret: CLIENT_SECRET_PARAM, device_code: { maxLength: 256 } },
  async handle({ request, reply, ctx, params, client }) {
    const { deps, auth } = ctx;
    const registered = await deviceFlowClient(deps, client, 'device_code');
    const deviceCode = requireParam(params, 'device_code');
    if (!isDeviceCodeShape(deviceCode)) throw unknownCode();
    const hash = hashSecret(deviceCode);
    /** The tokens could not be issued after the code was redeemed: back to approved (the next poll tries again), then the error. */
    const release = async (err: unknown): Promise<never> => {
      await deps.stores.deviceCodes.release(hash).catch(() => false);
      throw err;
    };
    const record = await deps.stores.deviceCodes.findByHash(hash);
    // Another client's code answers exactly like an unknown one, and leaves it untouched.
    if (record === null || record.clientId !== registered.clientId || record.status === 'redeemed') throw unknownCode();
    const now = deps.clock.now();
    if (record.expiresAt <= now) {
      forgetPolls(deps, hash);
      throw new GatehouseError('expired_token', { detail: 'The device code expired before it was approved. Start again with POST /auth/device/authorize.' });
    }
    if (record.status === 'denied') {
      forgetPolls(deps, hash);
      throw new GatehouseError('access_denied', { detail: 'The user denied this device. Stop polling.' });
    }
    if (record.status === 'pending') {
      if (pollTooSoon(deps, hash, now, record.intervalSec, record.lastPollAt)) {
        const interval = record.intervalSec + SLOW_DOWN_STEP_SEC;
        await deps.stores.deviceCodes.slowDown(hash, record.intervalSec, interval, now);
        throw new GatehouseError('slow_down', { detail: `Polling too fast: wait at least ${interval} seconds between polls from now on.` });
      }
      throw new GatehouseError('authorization_pending', { detail: `The user has not confirmed the code yet. Poll again in ${record.intervalSec} seconds.` });
    }

    // Approved: exactly one poll redeems it.
    if (!(await deps.stores.deviceCodes.redeem(hash, now)) || record.userId === null) throw unknownCode();
    forgetPolls(deps, hash);
    const user = await deps.stores.users.findById(record.userId).catch((err: unknown) => release(err));
    // Gone, or disabled since it approved (issue 18): as an unknown code.
    if (user === null || isDisabled(user)) throw unknownCode();
    const deviceId = randomId();
    const deviceName = record.deviceName ?? registered.name;
    let session: SessionRecord | undefined;
    let refreshToken: string;
    try {
      ({ session } = await createDeviceSession(deps, { user, deviceId, deviceName, persistent: true, scope: record.scope, ...approvedSignIn(record) }, request));
      refreshToken = await issueFirstRefreshToken(deps, session, registered.clientId);
    } catch (err) {
      if (session !== undefined) await endSessions(deps, { sessionIds: [session.id] }, request).catch(() => undefined);
      return release(err);
    }
    // A `clients remove` racing this redemption: its sweep of the client's sessions (found by
    // their refresh tokens, SessionStore.deleteByClient) may have run between this session's
    // creation and its refresh token. Read once the token is stored: a removal after this read
    // finds the token and ends the session; one before it is seen here (one read per redemption).
    let current: Awaited<ReturnType<typeof deps.stores.clients.get>>;
    try {
      current = await deps.stores.clients.get(registered.clientId);
    } catch (err) {
      await endSessions(deps, { sessionIds: [session.id] }, request).catch(() => undefined);
      return release(err);
    }
    if (current === null || current.createdAt !== registered.createdAt) {
      await endSessions(deps, { sessionIds: [session.id] }, request);
      throw invalidClient('This client was removed ("gatehouse clients remove"): it can no longer get tokens.');
    }
    await recordAudit(deps, request, {
      type: 'signin.success',
      userId: user.id,
      deviceId,
      detail: { via: 'device_code', sid: session.id, client_id: registered.clientId, scope: record.scope },
    });
    deps.logger.info({ event: 'token.device_code', userId: user.id, sid: session.id, clientId: registered.clientId, deviceCodeHash: hash, ip: clientIp(request) }, 'device code redeemed');
    auth.metrics.grant('device_code');
    return answerUserToken(reply, ctx, { user, session, scope: record.scope, refreshToken, clientId: registered.clientId });
  },
};

/**
 * The device's session starts with how the approving session's user had signed in (issue 17):
 * its amr and auth_time, so a TV neither claims a factor the user did not show nor looks more
 * recently authenticated than the approval's session. Not recorded (approved before migration
 * 0010): the defaults, a password now.
 */
function approvedSignIn(record: DeviceCodeRecord): { amr?: readonly string[]; authTime?: number } {
  return {
    ...(record.approvedAmr ? { amr: record.approvedAmr } : {}),
    ...(record.approvedAuthTime !== null && record.approvedAuthTime !== undefined ? { authTime: record.approvedAuthTime } : {}),
  };
}
