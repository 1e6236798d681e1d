import { GatehouseError } from '../../errors/index.js';
import { parseScope, tokenScopes } from '../../credentials/scope.js';
import { recordAudit } from '../audit.js';
import { checkDeviceField } from '../policy/device.js';
import { issueTicket, mfaRequired } from '../mfa/ticket.js';
import { refuseWhenPasswordChangeRequired } from '../recovery/forced-change.js';
import { issueFirstRefreshToken } from '../refresh-token.js';
import { createDeviceSession } from '../sessions.js';
import { checkSignin } from '../signin-guard.js';
import { requireParam } from '../oauth.js';
import { firstPartyOnly } from './first-party.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';
import { answerUserToken } from './user-token-answer.js';

/**
 * grant_type=password (RFC 6749 §4.3) with username, password, device_id (device_name, scope
 * optional), first-party client only: a device session exactly like a browser sign-in (the same
 * device's earlier session ends), its first refresh token and an access token. `scope` defaults
 * to `tokens.defaultScopes` and may name `account` (this client is first-party). A user with a
 * second factor gets 401 `{"error": "mfa_required", "mfa_token", "factors", "expires_in"}` and
 * no token: the mfa-otp grant (grants/mfa-otp.ts) finishes it with a code.
 */
export const passwordGrant: Grant = {
  type: 'password',
  params: {
    client_id: CLIENT_ID_PARAM,
    // Taken so that a confidential client gets unauthorized_client (firstPartyOnly), not a parameter complaint.
    client_secret: CLIENT_SECRET_PARAM,
    username: { maxLength: 256 },
    password: { maxLength: 16384 },
    device_id: { maxLength: 512 },
    device_name: { maxLength: 512 },
    scope: { maxLength: 4096 },
  },
  async handle({ request, reply, ctx, params, client }) {
    firstPartyOnly(client);
    const { deps, auth } = ctx;
    const username = requireParam(params, 'username');
    const password = requireParam(params, 'password');
    const deviceId = checkDeviceField(requireParam(params, 'device_id'), 'device_id', 'id');
    const deviceName = params.device_name === undefined ? null : checkDeviceField(params.device_name, 'device_name', 'name');
    // Checked before the password, so the answer says nothing about the account.
    // First-party: the account scope is granted when asked for by name, never by default.
    const scopes = tokenScopes(deps.config, params.scope === undefined ? undefined : parseScope(params.scope), true);
    const check = await checkSignin(auth, request, { username, password, via: 'password_grant', deviceId });
    if (!check.ok) throw new GatehouseError('invalid_grant', { detail: 'The username or password is wrong.' });
    const { user } = check;
    const scope = scopes.join(' ');
    if (check.factors.length > 0) {
      // Only the first step is done: no session, no token; the mfa-otp grant finishes it (grants/mfa-otp.ts).
      const { ticket, expiresAt } = await issueTicket(deps, { user, via: 'password_grant', deviceId, deviceName, persistent: true, clientId: null, scope });
      throw mfaRequired(ticket, expiresAt, check.factors, deps.clock.now(), 'mfa_token');
    }
    await refuseWhenPasswordChangeRequired(deps, user);
    const { session, replaced } = await createDeviceSession(deps, { user, deviceId, deviceName, persistent: true, scope, amr: ['pwd'] }, request);
    const refreshToken = await issueFirstRefreshToken(deps, session);
    await recordAudit(deps, request, {
      type: 'signin.success',
      userId: user.id,
      deviceId,
      detail: { via: 'password_grant', sid: session.id, scope, replaced: replaced.length, known_device: check.knownDevice },
    });
    auth.metrics.grant('password');
    return answerUserToken(reply, ctx, { user, session, scope, refreshToken });
  },
};
