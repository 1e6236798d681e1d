import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { secondFactorsOf } from '../mfa/factors.js';
import { currentPasswordSchema, requireCurrentPassword, type CurrentPasswordBody } from '../mfa/reauth.js';
import { hashRecoveryCode, newRecoveryCodes } from '../mfa/recovery-codes.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';

/** The current password, nothing else (mfa/reauth.ts). */
export const mfaRecoveryCodesSchema = currentPasswordSchema;

export type MfaRecoveryCodesBody = CurrentPasswordBody;

const MFA_RECOVERY_CODES_DOC: OperationDoc = {
  summary: 'Ten new recovery codes, shown this once; the earlier ones stop working',
  answers: {
    200: {
      description: 'Each code signs in once in place of a one-time code; only their hashes are kept.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['recovery_codes'],
        properties: { recovery_codes: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

/**
 * POST /auth/mfa/recovery-codes {password} -> 200 {recovery_codes}: ten new single-use codes
 * (stored as hashes), replacing every earlier one. Asks for the current password; 409
 * `mfa_not_enrolled` for an account without a second factor.
 */
export function registerMfaRecoveryCodes(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: MfaRecoveryCodesBody }>(
    '/auth/mfa/recovery-codes',
    { schema: mfaRecoveryCodesSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: MFA_RECOVERY_CODES_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      await requireCurrentPassword(auth, request, user, request.body.password);
      // Recovery codes stand in for the app's codes: a passkey alone does not make them usable.
      if (!(await secondFactorsOf(deps, user.id)).includes('totp')) throw new GatehouseError('mfa_not_enrolled');
      const codes = newRecoveryCodes();
      await deps.stores.mfa.replaceRecoveryCodes(user.id, codes.map(hashRecoveryCode), deps.clock.now());
      await recordAudit(deps, request, { type: 'mfa.recovery_codes_generated', userId: user.id, deviceId: passport.did ?? null, detail: { count: codes.length } });
      return reply.code(200).send({ recovery_codes: codes });
    },
  );
}
