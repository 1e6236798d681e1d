import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { limitPerIp } from '../rate-limit.js';
import { renameUser } from '../user-admin.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

export const usernameChangeSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['username'],
    properties: {
      // Generous limit as at sign-up; the username policy gives the precise answer.
      username: { type: 'string', minLength: 1, maxLength: 256 },
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type UsernameChangeBody = FromSchema<(typeof usernameChangeSchema)['body']>;

const USERNAME_CHANGE_DOC: OperationDoc = {
  summary: 'Change the username (the sign-up rules apply); passports carry the new name within session.cacheTtlMs',
  answers: {
    200: {
      description: 'The username now (unchanged when it was the same already).',
      body: { type: 'object', additionalProperties: false, required: ['username'], properties: { username: { type: 'string' } } },
    },
  },
};

/**
 * POST /auth/username -> 200 {username}. 400 invalid_username (the sign-up policy); 409
 * username_taken (another user's name, or one that looks the same); 429 rate_limited (the
 * sign-up per-IP budget, shared). The same name: 200, nothing
 * written. Recorded as `username.changed` {old, new} in the activity log. Sessions and tokens
 * stay; sign-in takes the new name only.
 */
export function registerUsernameChange(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: UsernameChangeBody }>(
    '/auth/username',
    { schema: usernameChangeSchema, config: { lane: ACCOUNT_LANE, openapi: USERNAME_CHANGE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const before = await accountOf(deps, passport);
      // Whether a name is taken is what sign-up tells too: one per-IP budget for both, so a
      // signed-in account is no faster way to probe names (signup.perIpPerMinute).
      await limitPerIp(deps, request, 'signup', deps.config.signup.perIpPerMinute, 'sign-up and username-change');
      const { user, changed } = await renameUser(auth, before, request.body.username);
      if (changed) {
        await recordAudit(deps, request, { type: 'username.changed', userId: user.id, deviceId: passport.did ?? null, detail: { old: before.username, new: user.username } });
      }
      return reply.code(200).send({ username: user.username });
    },
  );
}
