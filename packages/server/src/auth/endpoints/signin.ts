import type { FastifyInstance } from 'fastify';
import { randomId } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { verifyPassword } from '../auth-context.js';
import { deviceIdFromCookie, setDeviceCookie, setSessionCookies } from '../cookies.js';
import { clientIp, iso, type EndpointContext } from '../endpoint-context.js';
import { checkDeviceField } from '../policy/device.js';
import { canonicalUsername } from '../policy/username.js';
import { createDeviceSession } from '../sessions.js';

interface SigninBody {
  username: string;
  password: string;
  device_id?: string;
  device_name?: string;
  remember?: boolean;
}

export const signinSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['username', 'password'],
    properties: {
      username: { type: 'string', minLength: 1, maxLength: 256 },
      password: { type: 'string', minLength: 1, maxLength: 16384 },
      device_id: { type: 'string', minLength: 1, maxLength: 128 },
      device_name: { type: 'string', minLength: 1, maxLength: 128 },
      remember: { type: 'boolean' },
    },
  },
} as const;

/**
 * POST /auth/signin -> 200 {user, session, csrf_token} + cookies. An unknown username and a
 * wrong password get the same 401 after the same work (a dummy hash is verified).
 */
export function registerSignin(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: SigninBody }>('/auth/signin', { schema: signinSchema }, async (request, reply) => {
    const body = request.body;
    const bodyDeviceId = body.device_id === undefined ? undefined : checkDeviceField(body.device_id, 'device_id', 'id');
    const deviceName = body.device_name === undefined ? null : checkDeviceField(body.device_name, 'device_name', 'name');
    const cookieDeviceId = deviceIdFromCookie(request);
    const canonical = canonicalUsername(body.username);

    const user = await deps.stores.users.findByCanonical(canonical);
    const ok = await verifyPassword(deps, user?.passwordHash ?? null, body.password);
    if (!user || !ok) {
      deps.logger.warn(
        {
          event: 'signin.failure',
          reason: user ? 'wrong_password' : 'unknown_user',
          username: canonical,
          ip: clientIp(request),
          deviceId: bodyDeviceId ?? cookieDeviceId,
        },
        'sign-in failed',
      );
      throw new GatehouseError('invalid_credentials');
    }

    // Device: from the body (apps), else the browser's device cookie, else a new one.
    const deviceId = bodyDeviceId ?? cookieDeviceId ?? randomId();
    const persistent = body.remember !== false;
    const { session, secret, replaced } = await createDeviceSession(deps, { user, deviceId, deviceName, persistent });

    setSessionCookies(reply, deps.config, session, secret);
    if (bodyDeviceId === undefined) setDeviceCookie(reply, deps.config, deviceId);
    deps.logger.info(
      {
        event: 'signin.success',
        userId: user.id,
        username: user.usernameCanonical,
        sid: session.id,
        deviceId,
        replaced: replaced.length,
        persistent,
        ip: clientIp(request),
      },
      'sign-in',
    );
    return reply.code(200).send({
      user: { id: user.id, username: user.username, roles: user.roles },
      session: { id: session.id, device_id: session.deviceId, expires_at: iso(session.expiresAt) },
      csrf_token: session.csrfToken,
    });
  });
}
