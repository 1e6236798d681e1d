import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import { finishSecondStep } from '../mfa/second-step.js';
import { requireParam } from '../oauth.js';
import { issueFirstRefreshToken } from '../refresh-token.js';
import { createDeviceSession } from '../sessions.js';
import { firstPartyOnly } from './first-party.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';
import { answerUserToken } from './user-token-answer.js';

/** The extension grant (RFC 6749 §4.5) that finishes a password grant answered `mfa_required`. */
export const MFA_OTP_GRANT_TYPE = 'urn:gatehouse:params:oauth:grant-type:mfa-otp';

/**
 * grant_type=urn:gatehouse:params:oauth:grant-type:mfa-otp with `mfa_token` (from the password
 * grant's 401 mfa_required) and `otp` or `recovery_code`, first-party client only: the device
 * session the password grant would have created (its device, name and scope, kept with the
 * ticket), amr ["pwd","otp","mfa"], with its tokens. The same checks as POST /auth/signin/mfa:
 * the ticket single use, from the password grant only; a wrong code counts toward the lock.
 * Errors: invalid_grant for a bad ticket or code (the description says which), 429 once locked.
 */
export const mfaOtpGrant: Grant = {
  type: MFA_OTP_GRANT_TYPE,
  params: {
    client_id: CLIENT_ID_PARAM,
    client_secret: CLIENT_SECRET_PARAM,
    mfa_token: { maxLength: 128 },
    otp: { maxLength: 16 },
    recovery_code: { maxLength: 64 },
  },
  async handle({ request, reply, ctx, params, client }) {
    firstPartyOnly(client);
    const { deps, auth } = ctx;
    const mfaToken = requireParam(params, 'mfa_token');
    let done;
    try {
      done = await finishSecondStep(ctx, request, { ticket: mfaToken, code: params.otp, recoveryCode: params.recovery_code, via: ['password_grant'], auditVia: 'password_grant' });
    } catch (err) {
      // A disabled account: the password grant's wrong-password answer.
      if (err instanceof GatehouseError && err.code === 'invalid_credentials') throw new GatehouseError('invalid_grant', { detail: 'The username or password is wrong.' });
      if (err instanceof GatehouseError && (err.code === 'invalid_mfa_ticket' || err.code === 'invalid_mfa_code')) {
        throw new GatehouseError('invalid_grant', { detail: err.code === 'invalid_mfa_ticket' ? 'The mfa_token is unknown, used or expired; sign in again.' : 'The one-time code or recovery code is wrong or used.' });
      }
      throw err;
    }
    const { ticket, user, knownDevice, factor } = done;
    const deviceId = ticket.deviceId;
    const scope = ticket.scope;
    if (deviceId === null || scope === null) throw new GatehouseError('invalid_grant', { detail: 'The mfa_token is unknown, used or expired; sign in again.' });
    const { session, replaced } = await createDeviceSession(deps, { user, deviceId, deviceName: ticket.deviceName, persistent: true, scope, amr: ['pwd', 'otp', 'mfa'] }, request);
    const refreshToken = await issueFirstRefreshToken(deps, session);
    await recordAudit(deps, request, {
      type: 'signin.success',
      userId: user.id,
      deviceId,
      detail: { via: 'password_grant', sid: session.id, scope, replaced: replaced.length, known_device: knownDevice, mfa: factor },
    });
    auth.metrics.grant('password');
    return answerUserToken(reply, ctx, { user, session, scope, refreshToken });
  },
};
