import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import { recordAudit } from '../audit.js';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { REAUTH_PROOFS } from '../reauth/proofs.js';
import { combinedAmr, recordReauthentication } from '../reauth/reauth.js';

/** One optional field per registered proof; at least one must come. */
export const reauthSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: Object.fromEntries(REAUTH_PROOFS.map((p) => [p.field, p.schema])),
  },
} as const;

const REAUTH_DOC: OperationDoc = {
  summary: 'Re-authenticate on this browser session (step-up): its amr and auth_time change in place',
  description:
    'For routes with `maxAuthAgeSec` or `mfa: true` (the gateway sends pages to /signin?reauth=1). Same session, same cookie; ' +
    'passports carry the new amr and auth_time at once on every gateway. Proofs: `password` (pwd) and `code`, a one-time code of the authenticator app (otp); both together give amr pwd otp mfa. ' +
    'A wrong password: 401 invalid_credentials; a wrong or used code: 401 invalid_mfa_code (both counted with password-change guesses).',
  answers: {
    200: {
      description: 'Re-authenticated.',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['amr', 'auth_time'],
        properties: { amr: { type: 'array', items: { type: 'string' } }, auth_time: DATE_TIME },
      },
    },
  },
};

/**
 * POST /auth/reauth {password?, code?, passkey?} (browser session + CSRF token) -> 200 {amr, auth_time}: every proof
 * in the body is checked (REAUTH_PROOFS), then the session records the fresh authentication
 * (recordReauthentication). Activity log: `session.reauthenticated`.
 */
export function registerReauth(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.post<{ Body: Record<string, unknown> }>(
    '/auth/reauth',
    { schema: reauthSchema, config: { lane: BROWSER_SESSION_LANE, openapi: REAUTH_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      if (passport.sid === undefined) throw new GatehouseError('unauthenticated', { detail: 'Re-authentication needs a session.' });
      const user = await accountOf(deps, passport);
      const shown: (readonly string[])[] = [];
      for (const proof of REAUTH_PROOFS) {
        const value = request.body[proof.field];
        if (value !== undefined) shown.push(await proof.verify({ deps, auth, request }, user, value));
      }
      if (shown.length === 0) throw new GatehouseError('invalid_request', { detail: `Send one of: ${REAUTH_PROOFS.map((p) => p.field).join(', ')}.` });
      const amr = combinedAmr(shown);
      const session = await recordReauthentication(deps, { id: passport.sid, userId: user.id }, amr, request);
      await recordAudit(deps, request, { type: 'session.reauthenticated', userId: user.id, deviceId: passport.did ?? null, detail: { sid: session.id, amr: amr.join(' ') } });
      return reply.code(200).header('cache-control', 'no-store').send({ amr, auth_time: iso(session.authTime ?? deps.clock.now()) });
    },
  );
}
