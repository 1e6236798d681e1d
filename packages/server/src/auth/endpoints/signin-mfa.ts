import type { FastifyInstance } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { FromSchema } from 'json-schema-to-ts';
import { startBrowserSession } from '../browser-signin.js';
import { GatehouseError } from '../../errors/index.js';
import { type EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';
import { finishSecondStep } from '../mfa/second-step.js';
import { type OperationDoc } from '../openapi.js';
import { PUBLIC_KEY_CREDENTIAL_SCHEMA } from '../webauthn/http.js';
import { SIGNIN_DOC } from './signin.js';

/** RFC 8176: the password, then a hardware-bound key (a passkey as the second factor). */
export const PASSKEY_SECOND_FACTOR_AMR: readonly string[] = ['pwd', 'hwk', 'mfa'];
const CODE_SECOND_FACTOR_AMR: readonly string[] = ['pwd', 'otp', 'mfa'];

export const signinMfaSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['ticket'],
    properties: {
      ticket: { type: 'string', minLength: 1, maxLength: 128 },
      code: { type: 'string', minLength: 1, maxLength: 16 },
      recovery_code: { type: 'string', minLength: 1, maxLength: 64 },
      passkey: PUBLIC_KEY_CREDENTIAL_SCHEMA,
    },
  },
} as const;

/** The body as the schema above admits it (derived, so the two cannot drift apart). */
export type SigninMfaBody = FromSchema<(typeof signinMfaSchema)['body']>;

const SIGNIN_MFA_DOC: OperationDoc = {
  summary: 'Finish a sign-in that answered 401 mfa_required: the ticket with a one-time code, a recovery code, or a passkey assertion',
  description:
    'Exactly one of `code`, `recovery_code` and `passkey`. A passkey assertion answers the options of POST /auth/signin/mfa/passkey-options for the same ticket ' +
    '(amr pwd hwk mfa); a code or recovery code gives amr pwd otp mfa. A wrong code is 401 invalid_mfa_code, a refused assertion 401 invalid_passkey: ' +
    'both count toward the account\'s sign-in lock (429 once spent). The ticket is single use.',
  answers: SIGNIN_DOC.answers,
};

/**
 * POST /auth/signin/mfa {ticket, code | recovery_code | passkey} -> 200 as POST /auth/signin, the
 * session recording amr ["pwd","otp","mfa"] (a recovery code counts as a one-time code) or, with
 * a passkey assertion, ["pwd","hwk","mfa"]. The ticket is single use and must come from
 * `POST /auth/signin` (not the password grant); a wrong or reused code is 401 `invalid_mfa_code`,
 * a refused assertion (another user's passkey, a challenge not issued for this ticket's user,
 * any WebAuthn check) 401 `invalid_passkey`; both count toward the account's sign-in lock (429 once spent).
 */
export function registerSigninMfa(app: FastifyInstance, ctx: EndpointContext): void {
  const { deps } = ctx;
  app.post<{ Body: SigninMfaBody }>('/auth/signin/mfa', { schema: signinMfaSchema, config: { lane: PUBLIC_LANE, openapi: SIGNIN_MFA_DOC } }, async (request, reply) => {
    const body = request.body;
    const { ticket, user, knownDevice, factor } = await finishSecondStep(ctx, request, {
      ticket: body.ticket,
      code: body.code,
      recoveryCode: body.recovery_code,
      passkey: body.passkey as unknown as AuthenticationResponseJSON | undefined,
      via: ['signin', 'signin_app'],
      auditVia: 'signin',
    });
    if (ticket.deviceId === null) throw new GatehouseError('invalid_mfa_ticket');
    const answer = await startBrowserSession(deps, request, reply, {
      user,
      deviceId: ticket.deviceId,
      deviceName: ticket.deviceName,
      persistent: ticket.persistent,
      amr: factor === 'passkey' ? PASSKEY_SECOND_FACTOR_AMR : CODE_SECOND_FACTOR_AMR,
      setDevice: ticket.via === 'signin',
      audit: { via: 'signin', known_device: knownDevice, mfa: factor },
    });
    return reply.code(200).send(answer);
  });
}
