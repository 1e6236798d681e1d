import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';

/** GET /auth/me -> 200 {id, username, roles}, read from the store (not from the passport). */
export function registerMe(app: FastifyInstance, { deps, authenticate }: EndpointContext): void {
  app.get('/auth/me', { preHandler: authenticate }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await deps.stores.users.findById(passport.sub);
    if (!user) {
      throw new GatehouseError('unauthenticated', {
        detail: 'The account no longer exists.',
        headers: { 'www-authenticate': 'Bearer realm="gatehouse"' },
      });
    }
    return reply.send({ id: user.id, username: user.username, roles: user.roles });
  });
}
