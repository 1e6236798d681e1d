import type { FastifyInstance } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FromSchema } from 'json-schema-to-ts';
import { startBrowserSession } from '../browser-signin.js';
import { randomId } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { deviceIdFromCookie } from '../cookies.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { checkDeviceField } from '../policy/device.js';
import { PUBLIC_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { verifyPasskeyAssertion } from '../webauthn/ceremony.js';
import { PUBLIC_KEY_CREDENTIAL_SCHEMA } from '../webauthn/http.js';
import { signinSchema } from './signin.js';

/** RFC 8176: a hardware-bound key, the user verified by it (PIN or biometrics); counts as a second factor. */
export const PASSKEY_SIGNIN_AMR: readonly string[] = ['hwk', 'user', 'mfa'];

export const signinPasskeySchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['response'],
    properties: {
      response: PUBLIC_KEY_CREDENTIAL_SCHEMA,
      device_id: signinSchema.body.properties.device_id,
      device_name: signinSchema.body.properties.device_name,
      remember: signinSchema.body.properties.remember,
    },
  },
} as const;

export type SigninPasskeyBody = FromSchema<(typeof signinPasskeySchema)['body']>;

const DOC: OperationDoc = {
  summary: 'Sign in a browser with a passkey, without a password (sets the session, CSRF and device cookies)',
  answers: { 200: { description: 'Signed in, as POST /auth/signin answers; the session records amr ["hwk","user","mfa"].', body: { type: 'object' } } },
};

/**
 * POST /auth/signin/passkey {response} -> 200 {user, session, csrf_token} + cookies, as
 * POST /auth/signin. The assertion must answer a challenge of /auth/signin/passkey/options
 * (taken once), come from this origin and RP id, be signed by a registered passkey with user
 * verification, and move its counter forward; anything else is one 401 invalid_passkey (the
 * reason in the log, never in the answer).
 */
export function registerSigninPasskey(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: SigninPasskeyBody }>('/auth/signin/passkey', { schema: signinPasskeySchema, config: { lane: PUBLIC_LANE, openapi: DOC } }, async (request, reply) => {
    const body = request.body;
    const bodyDeviceId = body.device_id === undefined ? undefined : checkDeviceField(body.device_id, 'device_id', 'id');
    const deviceName = body.device_name === undefined ? null : checkDeviceField(body.device_name, 'device_name', 'name');
    const result = await verifyPasskeyAssertion(deps, body.response as unknown as AuthenticationResponseJSON);
    if (!result.ok) {
      deps.logger.info({ event: 'passkey.signin.failure', ip: clientIp(request), reason: result.reason }, 'passkey sign-in refused');
      throw new GatehouseError('invalid_passkey');
    }
    const { user, credential } = result;
    const deviceId = bodyDeviceId ?? deviceIdFromCookie(request, deps.config) ?? randomId();
    const persistent = body.remember !== false;
    const answer = await startBrowserSession(deps, request, reply, {
      user,
      deviceId,
      deviceName,
      persistent,
      amr: PASSKEY_SIGNIN_AMR,
      setDevice: bodyDeviceId === undefined,
      audit: { via: 'passkey', credential_id: credential.id },
    });
    return reply.code(200).send(answer);
  });
}
