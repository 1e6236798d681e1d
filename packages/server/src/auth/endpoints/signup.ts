import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import { CHALLENGE_HOW_TO, challengeRequired, verifyChallenge } from '../challenge.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { limitPerIp } from '../rate-limit.js';
import { createUser } from '../user-admin.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

export const signupSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['username', 'password'],
    properties: {
      // Generous limits here; the username and password policies give the precise answers.
      username: { type: 'string', minLength: 1, maxLength: 256 },
      password: { type: 'string', minLength: 1, maxLength: 16384 },
      // base64 of the ALTCHA payload JSON {algorithm, challenge, number, salt, signature}.
      challenge: { type: 'string', minLength: 1, maxLength: 2048 },
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type SignupBody = FromSchema<(typeof signupSchema)['body']>;

const SIGNUP_DOC: OperationDoc = {
  summary: 'Create an account',
  answers: {
    201: {
      description: 'The account.',
      body: { type: 'object', additionalProperties: false, required: ['id', 'username'], properties: { id: { type: 'string' }, username: { type: 'string' } } },
    },
  },
};

/**
 * POST /auth/signup -> 201 {id, username}; 409 username_taken; 400 invalid_username /
 * weak_password / invalid_password; 429 rate_limited (per IP); 400 challenge_required /
 * invalid_challenge when a proof-of-work is required (checked before any hashing).
 */
export function registerSignup(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: SignupBody }>('/auth/signup', { schema: signupSchema, config: { lane: PUBLIC_LANE, openapi: SIGNUP_DOC } }, async (request, reply) => {
    const { username, password, challenge } = request.body;
    const metrics = auth.metrics;
    try {
      await limitPerIp(deps, request, 'signup', deps.config.signup.perIpPerMinute);
    } catch (err) {
      metrics.signup('refused');
      throw err;
    }
    if (await challengeRequired(deps, request)) {
      try {
        if (challenge === undefined) throw new GatehouseError('challenge_required', { detail: CHALLENGE_HOW_TO, extra: { challenge_url: '/auth/challenge' } });
        await verifyChallenge(deps, challenge);
      } catch (err) {
        if (err instanceof GatehouseError && err.status < 500) metrics.signup('challenged');
        throw err;
      }
    }
    try {
      const user = await createUser(auth, { username, password }, request);
      metrics.signup('created');
      await recordAudit(deps, request, { type: 'signup', userId: user.id });
      return reply.code(201).send({ id: user.id, username: user.username });
    } catch (err) {
      if (err instanceof GatehouseError && err.status < 500) {
        metrics.signup('refused');
        deps.logger.info({ event: 'signup.failure', code: err.code, ip: clientIp(request) }, 'sign-up refused');
      }
      throw err;
    }
  });
}
