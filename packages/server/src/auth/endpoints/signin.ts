import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { startBrowserSession } from '../browser-signin.js';
import { randomId } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { deviceIdFromCookie } from '../cookies.js';
import { type EndpointContext } from '../endpoint-context.js';
import { checkDeviceField } from '../policy/device.js';
import { checkSignin } from '../signin-guard.js';
import { PUBLIC_LANE } from '../lanes.js';
import { issueTicket, mfaRequired } from '../mfa/ticket.js';
import { refuseWhenPasswordChangeRequired } from '../recovery/forced-change.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

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

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type SigninBody = FromSchema<(typeof signinSchema)['body']>;

export const SIGNIN_DOC: OperationDoc = {
  summary: 'Sign in a browser (sets the session, CSRF and device cookies)',
  answers: {
    200: {
      description: 'Signed in: the session cookie is set; send csrf_token as X-CSRF-Token on writes.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'session', 'csrf_token'],
        properties: {
          user: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'username', 'roles'],
            properties: { id: { type: 'string' }, username: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
          },
          session: {
            type: 'object',
            additionalProperties: false,
            required: ['id', 'device_id', 'expires_at'],
            properties: { id: { type: 'string' }, device_id: { type: 'string' }, expires_at: DATE_TIME },
          },
          csrf_token: { type: 'string' },
        },
      },
    },
  },
};

/**
 * POST /auth/signin -> 200 {user, session, csrf_token} + cookies. An unknown username and a
 * wrong password get the same 401 after the same work (a dummy hash is verified). Behind the
 * abuse limits of `signin-guard.ts` (429 `rate_limited` with Retry-After); a success leaves the
 * signed `gatehouse_known_device` cookie that exempts this browser from the account lock.
 * A user with a second factor gets 401 `mfa_required` with a single-use ticket instead (no
 * session, no cookie): `POST /auth/signin/mfa` finishes it (endpoints/signin-mfa.ts).
 */
export function registerSignin(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: SigninBody }>('/auth/signin', { schema: signinSchema, config: { lane: PUBLIC_LANE, openapi: SIGNIN_DOC } }, async (request, reply) => {
    const body = request.body;
    const bodyDeviceId = body.device_id === undefined ? undefined : checkDeviceField(body.device_id, 'device_id', 'id');
    const deviceName = body.device_name === undefined ? null : checkDeviceField(body.device_name, 'device_name', 'name');
    const cookieDeviceId = deviceIdFromCookie(request, deps.config);

    const check = await checkSignin(auth, request, {
      username: body.username,
      password: body.password,
      via: 'signin',
      deviceId: bodyDeviceId ?? cookieDeviceId,
    });
    if (!check.ok) throw new GatehouseError('invalid_credentials');
    const { user } = check;

    // Device: from the body (apps), else the browser's device cookie, else a new one.
    const deviceId = bodyDeviceId ?? cookieDeviceId ?? randomId();
    const persistent = body.remember !== false;
    if (check.factors.length > 0) {
      // Only the first step is done: no session, no cookie, a single-use ticket for POST /auth/signin/mfa.
      const via = bodyDeviceId === undefined ? 'signin' : 'signin_app';
      const { ticket, expiresAt } = await issueTicket(deps, { user, via, deviceId, deviceName, persistent, clientId: null, scope: null });
      throw mfaRequired(ticket, expiresAt, check.factors, deps.clock.now(), 'mfa_ticket');
    }
    await refuseWhenPasswordChangeRequired(deps, user);
    const answer = await startBrowserSession(deps, request, reply, {
      user,
      deviceId,
      deviceName,
      persistent,
      amr: ['pwd'],
      setDevice: bodyDeviceId === undefined,
      audit: { via: 'signin', known_device: check.knownDevice },
    });
    return reply.code(200).send(answer);
  });
}
