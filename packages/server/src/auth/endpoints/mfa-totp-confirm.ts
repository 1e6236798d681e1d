import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { hashRecoveryCode, newRecoveryCodes } from '../mfa/recovery-codes.js';
import { openTotpSecret, totpStepOf } from '../mfa/totp.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { rateLimited } from '../rate-limit.js';

export const mfaTotpConfirmSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['code'],
    properties: { code: { type: 'string', minLength: 1, maxLength: 16 } },
  },
} as const;

export type MfaTotpConfirmBody = FromSchema<(typeof mfaTotpConfirmSchema)['body']>;

const MFA_TOTP_CONFIRM_DOC: OperationDoc = {
  summary: 'Confirm the pending one-time code app with a first code; only then it is asked for at sign-in',
  answers: {
    200: {
      description: 'Enabled. recovery_codes: ten new codes, shown this once, when the account had none left; else null.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['recovery_codes'],
        properties: { recovery_codes: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] } },
      },
    },
  },
};

/**
 * POST /auth/mfa/totp/confirm {code} -> 200 {recovery_codes}: the first code proves the app
 * holds the secret; the factor counts from now on (its step is taken: the same code cannot then
 * sign in). 409 `mfa_not_enrolled` with nothing pending; 401 `invalid_mfa_code` for a wrong code
 * (at most `signin.maxFailures` per user per `signin.lockWindowSec`, then 429).
 */
export function registerMfaTotpConfirm(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: MfaTotpConfirmBody }>(
    '/auth/mfa/totp/confirm',
    { schema: mfaTotpConfirmSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: MFA_TOTP_CONFIRM_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const user = await accountOf(deps, passport);
      const pending = await deps.stores.mfa.findTotp(user.id);
      if (pending === null || pending.confirmedAt !== null) throw new GatehouseError('mfa_not_enrolled');
      const { maxFailures, lockWindowSec } = deps.config.signin;
      const key = `mfa-confirm:user:${user.id}`;
      const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
      if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many wrong codes.');
      const secret = await openTotpSecret(deps, user.id, pending.secretJwe);
      const now = deps.clock.now();
      const step = totpStepOf(secret, request.body.code, now);
      if (step === null) throw new GatehouseError('invalid_mfa_code', { extra: { attempts_left: attempt.remaining } });
      // Only the secret that was shown (a later enrolment replaced it: refused).
      if (!(await deps.stores.mfa.confirmTotp(user.id, pending.secretJwe, step, now))) throw new GatehouseError('mfa_not_enrolled');
      await deps.stores.rateLimits.reset(key);
      let codes: string[] | null = null;
      if ((await deps.stores.mfa.countUnusedRecoveryCodes(user.id)) === 0) {
        codes = newRecoveryCodes();
        await deps.stores.mfa.replaceRecoveryCodes(user.id, codes.map(hashRecoveryCode), now);
      }
      await recordAudit(deps, request, { type: 'mfa.totp_added', userId: user.id, deviceId: passport.did ?? null, detail: { by: 'user' } });
      if (codes) await recordAudit(deps, request, { type: 'mfa.recovery_codes_generated', userId: user.id, deviceId: passport.did ?? null, detail: { count: codes.length } });
      return reply.code(200).send({ recovery_codes: codes });
    },
  );
}
