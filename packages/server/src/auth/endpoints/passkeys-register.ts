import type { FastifyInstance } from 'fastify';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { PasskeyTakenError } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { verifyPasskeyRegistration } from '../webauthn/ceremony.js';
import { PUBLIC_KEY_CREDENTIAL_SCHEMA } from '../webauthn/http.js';
import { passkeyJson, PASSKEY_JSON_SCHEMA, passkeyName } from './passkeys-list.js';

export const passkeysRegisterSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'response'],
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      response: PUBLIC_KEY_CREDENTIAL_SCHEMA,
    },
  },
} as const;

export type PasskeysRegisterBody = FromSchema<(typeof passkeysRegisterSchema)['body']>;

const DOC: OperationDoc = {
  summary: 'Finish registering a passkey (the authenticator\'s answer to the creation options)',
  answers: { 201: { description: 'Registered.', body: PASSKEY_JSON_SCHEMA } },
};

/**
 * POST /auth/passkeys {name, response} -> 201 the passkey. The challenge must be one this user's
 * options issued (taken once, on any instance: the password was checked there), the origin
 * and RP id this gateway's; else 400 passkey_registration_failed (cause in the log). Audited.
 */
export function registerPasskeysRegister(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: PasskeysRegisterBody }>('/auth/passkeys', { schema: passkeysRegisterSchema, config: { lane: BROWSER_SESSION_LANE, openapi: DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    const name = passkeyName(request.body.name);
    let result;
    try {
      result = await verifyPasskeyRegistration(deps, user, request.body.response as unknown as RegistrationResponseJSON, name);
    } catch (err) {
      if (err instanceof PasskeyTakenError) result = { ok: false as const, reason: 'credential registered already' };
      else throw err;
    }
    if (!result.ok) {
      deps.logger.info({ event: 'passkey.registration.failure', userId: user.id, ip: clientIp(request), reason: result.reason }, 'passkey registration refused');
      throw new GatehouseError('passkey_registration_failed', { detail: 'The passkey could not be registered. Try again.' });
    }
    const c = result.credential;
    await recordAudit(deps, request, { type: 'passkey.registered', userId: user.id, deviceId: passport.did ?? null, detail: { credential_id: c.id, name: c.name, backed_up: c.backedUp } });
    return reply.code(201).send(passkeyJson(c));
  });
}
