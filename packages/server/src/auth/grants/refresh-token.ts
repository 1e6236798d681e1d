import { parseScope } from '../../credentials/scope.js';
import { clientIp } from '../endpoint-context.js';
import { requireParam } from '../oauth.js';
import { redeemRefreshToken } from '../refresh-token.js';
import { deviceFlowClient } from '../device-flow.js';
import { CLIENT_ID_PARAM, CLIENT_SECRET_PARAM, type Grant } from './grant.js';
import { answerUserToken } from './user-token-answer.js';

/**
 * grant_type=refresh_token (RFC 6749 §6) with refresh_token (scope optional, may only narrow):
 * rotation. The first-party client refreshes the tokens it was issued (password grant); a
 * registered client with the refresh_token grant (a public one by client_id, a confidential one
 * with its secret) refreshes only those of its own device sessions (device code grant): a token
 * of another client, first party included, is invalid_grant.
 */
export const refreshTokenGrant: Grant = {
  type: 'refresh_token',
  params: {
    client_id: CLIENT_ID_PARAM,
    // A confidential client's device sessions refresh with its secret.
    client_secret: CLIENT_SECRET_PARAM,
    // Generous: anything that is not a refresh token is invalid_grant (an access token sent here too).
    refresh_token: { maxLength: 16384 },
    scope: { maxLength: 4096 },
  },
  async handle({ request, reply, ctx, params, client }) {
    const { deps, auth } = ctx;
    const clientId = client.kind === 'first_party' ? null : (await deviceFlowClient(deps, client, 'refresh_token')).clientId;
    const token = requireParam(params, 'refresh_token');
    const requested = params.scope === undefined ? undefined : parseScope(params.scope);
    const redeemed = await redeemRefreshToken(deps, token, requested, request, clientId);
    const { scope } = redeemed;
    deps.logger.info(
      { event: 'token.refresh', userId: redeemed.user.id, sid: redeemed.session.id, clientId, outcome: redeemed.outcome, ip: clientIp(request) },
      'refresh token redeemed',
    );
    auth.metrics.grant('refresh_token');
    return answerUserToken(reply, ctx, { user: redeemed.user, session: redeemed.session, scope, refreshToken: redeemed.refreshToken, clientId });
  },
};
