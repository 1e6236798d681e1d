import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { currentPasswordSchema, requireCurrentPassword, type CurrentPasswordBody } from '../mfa/reauth.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';

/** The current password, nothing else (mfa/reauth.ts). */
export const mfaTotpDeleteSchema = currentPasswordSchema;

export type MfaTotpDeleteBody = CurrentPasswordBody;

const MFA_TOTP_DELETE_DOC: OperationDoc = {
  summary: 'Remove the one-time code app (and the recovery codes with it); sign-in asks for the password only',
  answers: { 204: { description: 'Removed.' } },
};

/**
 * DELETE /auth/mfa/totp {password} -> 204: the factor (pending or confirmed) and the recovery
 * codes go. Asks for the current password; 409 `mfa_not_enrolled` when there is none. Sessions
 * stay (removing a factor is not a sign-out).
 */
export function registerMfaTotpDelete(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.delete<{ Body: MfaTotpDeleteBody }>(
    '/auth/mfa/totp',
    { schema: mfaTotpDeleteSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: MFA_TOTP_DELETE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      await requireCurrentPassword(auth, request, user, request.body.password);
      if (!(await deps.stores.mfa.deleteTotp(user.id))) throw new GatehouseError('mfa_not_enrolled');
      const codes = await deps.stores.mfa.deleteRecoveryCodes(user.id);
      await recordAudit(deps, request, { type: 'mfa.totp_removed', userId: user.id, deviceId: passport.did ?? null, detail: { by: 'user', recovery_codes_removed: codes } });
      return reply.code(204).send();
    },
  );
}
