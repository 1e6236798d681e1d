import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { ANY_CREDENTIAL_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';

const ME_DOC: OperationDoc = {
  summary: 'The signed-in user',
  answers: {
    200: {
      description: 'The user entity.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'username', 'roles'],
        properties: { id: { type: 'string' }, username: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

/** GET /auth/me -> 200 {id, username, roles}, read from the store (not from the passport). */
export function registerMe(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/me', { config: { lane: ANY_CREDENTIAL_LANE, openapi: ME_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    return reply.send({ id: user.id, username: user.username, roles: user.roles });
  });
}
