import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { canonicalUsername } from '../policy/username.js';
import { createUser } from '../user-admin.js';

interface SignupBody {
  username: string;
  password: string;
}

export const signupSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['username', 'password'],
    properties: {
      // Generous limits here; the username and password policies give the precise answers.
      username: { type: 'string', minLength: 1, maxLength: 256 },
      password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;

/** POST /auth/signup -> 201 {id, username}; 409 username_taken; 400 invalid_username / weak_password / invalid_password. */
export function registerSignup(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: SignupBody }>('/auth/signup', { schema: signupSchema }, async (request, reply) => {
    const { username, password } = request.body;
    try {
      const user = await createUser(deps, { username, password });
      deps.logger.info({ event: 'signup.success', userId: user.id, username: user.usernameCanonical, ip: clientIp(request) }, 'sign-up');
      return reply.code(201).send({ id: user.id, username: user.username });
    } catch (err) {
      if (err instanceof GatehouseError && err.status < 500) {
        deps.logger.info(
          { event: 'signup.failure', code: err.code, username: canonicalUsername(username), ip: clientIp(request) },
          'sign-up refused',
        );
      }
      throw err;
    }
  });
}
