import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';

/** GET /auth/me -> 200 {id, username, roles}, read from the store (not from the passport). */
export function registerMe(app: FastifyInstance, { deps, authenticate }: EndpointContext): void {
  app.get('/auth/me', { preHandler: authenticate }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    return reply.send({ id: user.id, username: user.username, roles: user.roles });
  });
}
