import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import { type EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { takeEmailToken } from '../recovery/tokens.js';
import { EMAIL_BODY, emailAnswer, emailDomain } from './email-get.js';

export const emailVerifySchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['token'],
    properties: { token: { type: 'string', minLength: 1, maxLength: 256 } },
  },
} as const;

export type EmailVerifyBody = FromSchema<(typeof emailVerifySchema)['body']>;

const EMAIL_VERIFY_DOC: OperationDoc = {
  summary: 'Verify an email address with the link mailed to it (no credential: the token names the user and the address)',
  answers: { 200: { description: 'Verified.', body: EMAIL_BODY } },
};

/**
 * POST /auth/email/verify {token} -> 200 {email, verified: true, verified_at}. The token is
 * taken once (CAS) and verifies only the address it was sent to, for the user it was made for:
 * a link for an address the account no longer has is refused. 400 invalid_verification_token.
 */
export function registerEmailVerify(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: EmailVerifyBody }>('/auth/email/verify', { schema: emailVerifySchema, config: { lane: PUBLIC_LANE, openapi: EMAIL_VERIFY_DOC } }, async (request, reply) => {
    const record = await takeEmailToken(deps, request.body.token, 'verify');
    if (record === null || record.address === null || !(await deps.stores.emails.markVerified(record.userId, record.address, deps.clock.now()))) {
      deps.logger.info({ event: 'email.verify.failure', known: record !== null }, 'email verification refused');
      throw new GatehouseError('invalid_verification_token', { detail: 'This link is wrong, expired, used, replaced by a newer one, or for an address the account no longer has. Send a new one from the account page.' });
    }
    await recordAudit(deps, request, { type: 'email.verified', userId: record.userId, detail: { domain: emailDomain(record.address) } });
    return reply.code(200).send(emailAnswer(await deps.stores.emails.get(record.userId)));
  });
}
