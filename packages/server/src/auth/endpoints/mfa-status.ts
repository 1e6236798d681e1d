import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { isoOrNull } from '../endpoint-context.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';

const MFA_STATUS_DOC: OperationDoc = {
  summary: "The user's second factors: the one-time code app and how many recovery codes are left",
  answers: {
    200: {
      description: 'totp.status: none, pending (enrolled, waiting for its first code; does not count) or enabled.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['totp', 'recovery_codes_left'],
        properties: {
          totp: {
            type: 'object',
            additionalProperties: false,
            required: ['status', 'confirmed_at'],
            properties: { status: { type: 'string', enum: ['none', 'pending', 'enabled'] }, confirmed_at: { anyOf: [DATE_TIME, { type: 'null' }] } },
          },
          recovery_codes_left: { type: 'integer' },
        },
      },
    },
  },
};

/** GET /auth/mfa -> 200 {totp: {status, confirmed_at}, recovery_codes_left}. Never a secret. */
export function registerMfaStatus(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/mfa', { config: { lane: ACCOUNT_LANE, openapi: MFA_STATUS_DOC } }, async (request, reply) => {
    const user = await accountOf(deps, passportOf(request));
    const totp = await deps.stores.mfa.findTotp(user.id);
    const status = totp === null ? 'none' : totp.confirmedAt === null ? 'pending' : 'enabled';
    return reply.code(200).send({
      totp: { status, confirmed_at: isoOrNull(totp?.confirmedAt ?? null) },
      recovery_codes_left: await deps.stores.mfa.countUnusedRecoveryCodes(user.id),
    });
  });
}
