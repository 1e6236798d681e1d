import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { currentPasswordSchema, requireCurrentPassword, type CurrentPasswordBody } from '../mfa/reauth.js';
import { newTotpSecret, sealTotpSecret, totpQrSvg, totpUri } from '../mfa/totp.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';

/** The current password, nothing else (mfa/reauth.ts). */
export const mfaTotpEnrolSchema = currentPasswordSchema;

export type MfaTotpEnrolBody = CurrentPasswordBody;

const MFA_TOTP_ENROL_DOC: OperationDoc = {
  summary: 'Start setting up a one-time code app (TOTP): the secret, its otpauth URI and a QR code (SVG); confirm with a first code',
  answers: {
    200: {
      description: 'Pending until POST /auth/mfa/totp/confirm; a new call replaces a pending secret.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['secret', 'otpauth_uri', 'qr_svg'],
        properties: { secret: { type: 'string' }, otpauth_uri: { type: 'string' }, qr_svg: { type: 'string' } },
      },
    },
  },
};

/**
 * POST /auth/mfa/totp {password} -> 200 {secret, otpauth_uri, qr_svg}: a new secret, stored
 * encrypted and pending (it is no factor until confirmed). Asks for the current password; 409
 * `mfa_enrolled` when a confirmed app exists. The QR code is rendered here (no third party).
 */
export function registerMfaTotpEnrol(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: MfaTotpEnrolBody }>(
    '/auth/mfa/totp',
    { schema: mfaTotpEnrolSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: MFA_TOTP_ENROL_DOC } },
    async (request, reply) => {
      const user = await accountOf(deps, passportOf(request));
      await requireCurrentPassword(auth, request, user, request.body.password);
      const secret = newTotpSecret();
      const secretJwe = await sealTotpSecret(deps, user.id, secret);
      const stored = await deps.stores.mfa.putPendingTotp({ userId: user.id, secretJwe, createdAt: deps.clock.now(), confirmedAt: null, lastStep: null });
      if (!stored) throw new GatehouseError('mfa_enrolled');
      const uri = totpUri(secret, user.username, deps.config.mfa.totpIssuer);
      return reply.code(200).send({ secret, otpauth_uri: uri, qr_svg: await totpQrSvg(uri) });
    },
  );
}
