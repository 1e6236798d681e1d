import type { FastifyInstance } from 'fastify';
import { newChallenge } from '../challenge.js';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const CHALLENGE_DOC: OperationDoc = {
  summary: 'A proof-of-work challenge for sign-up (ALTCHA)',
  answers: {
    200: {
      description: 'A signed challenge, good once until it expires.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['algorithm', 'challenge', 'maxnumber', 'maxNumber', 'salt', 'signature'],
        properties: {
          algorithm: { type: 'string' },
          challenge: { type: 'string' },
          maxnumber: { type: 'integer' },
          maxNumber: { type: 'integer', description: 'The same number, as newer ALTCHA widgets spell it.' },
          salt: { type: 'string' },
          signature: { type: 'string' },
        },
      },
    },
  },
};

/**
 * GET /auth/challenge -> 200 {algorithm, challenge, maxnumber, maxNumber, salt, signature}: a
 * signed proof-of-work challenge for sign-up (ALTCHA v1), good once until it expires
 * (`signup.challengeTtlSec`; the expiry is inside `salt`). No credential.
 */
export function registerChallenge(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/challenge', { config: { lane: PUBLIC_LANE, openapi: CHALLENGE_DOC } }, async (_request, reply) => {
    const c = await newChallenge(deps);
    return reply.send({
      algorithm: c.algorithm,
      challenge: c.challenge,
      maxnumber: c.maxnumber,
      // The spelling of newer ALTCHA widgets.
      maxNumber: c.maxnumber,
      salt: c.salt,
      signature: c.signature,
    });
  });
}
