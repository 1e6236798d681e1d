import type { FastifyReply } from 'fastify';
import { issueAccessToken } from '../../credentials/access-token.js';
import type { SessionRecord, UserSummary } from '../../stores/types.js';
import type { EndpointContext } from '../endpoint-context.js';
import { OAUTH_JSON } from '../oauth.js';

/** 200 with an access token for a user's device session and its next refresh token (RFC 6749 §5.1); `clientId`: the registered client it was granted to (null: first party). */
export async function answerUserToken(
  reply: FastifyReply,
  ctx: EndpointContext,
  grant: { user: UserSummary; session: SessionRecord; scope: string; refreshToken: string; clientId?: string | null },
): Promise<FastifyReply> {
  const at = await issueAccessToken(ctx.deps, grant);
  return reply
    .code(200)
    .header('pragma', 'no-cache')
    .type(OAUTH_JSON)
    .send(JSON.stringify({ access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, refresh_token: grant.refreshToken, scope: grant.scope }));
}
