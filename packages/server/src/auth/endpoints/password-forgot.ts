import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { PUBLIC_LANE } from '../lanes.js';
import { type EndpointContext } from '../endpoint-context.js';
import { type OperationDoc } from '../openapi.js';
import { requestPasswordReset, FORGOT_ANSWER } from '../recovery/forgot.js';

export const passwordForgotSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['username_or_email'],
    properties: { username_or_email: { type: 'string', minLength: 1, maxLength: 256 } },
  },
} as const;

export type PasswordForgotBody = FromSchema<(typeof passwordForgotSchema)['body']>;

const PASSWORD_FORGOT_DOC: OperationDoc = {
  summary: 'Ask for a password reset link by username or verified email; the same answer whether or not the account exists',
  answers: {
    202: {
      description: 'Accepted: when an account with a verified address matches, a link is on its way.',
      body: { type: 'object', additionalProperties: false, required: ['status', 'detail'], properties: { status: { type: 'string', enum: ['accepted'] }, detail: { type: 'string' } } },
    },
  },
};

/**
 * POST /auth/password/forgot {username_or_email} -> 202, the same body and about the same time
 * whatever the account (recovery/forgot.ts). 429 rate_limited per IP and overall.
 */
export function registerPasswordForgot(app: FastifyInstance, ctx: EndpointContext): void {
  app.post<{ Body: PasswordForgotBody }>('/auth/password/forgot', { schema: passwordForgotSchema, config: { lane: PUBLIC_LANE, openapi: PASSWORD_FORGOT_DOC } }, async (request, reply) => {
    await requestPasswordReset(ctx.deps, request, request.body.username_or_email);
    return reply.code(202).send(FORGOT_ANSWER);
  });
}

