import type { PassportClaims } from '@gatehouse/sdk';
import type { FastifyInstance } from 'fastify';
import { passportOf } from '../passport.js';
import { underUserCodeLimits, invalidUserCode, normaliseUserCode, userCodeBodySchema, type UserCodeBody } from '../device-flow.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { BROWSER_SESSION_LANE } from '../lanes.js';
import { AMR_PASSWORD } from '../sessions.js';
import { type OperationDoc } from '../openapi.js';

const DEVICE_APPROVE_DOC: OperationDoc = {
  summary: 'Approve the device waiting for this user code (the /device page)',
  description: 'A wrong, expired, decided or used code: 400 invalid_user_code, one answer for all (limited like lookups).',
  answers: {
    200: {
      description: 'Done.',
      body: { type: 'object', additionalProperties: false, required: ['status'], properties: { status: { type: 'string', enum: ['approved'] } } },
    },
  },
};

/**
 * How the approving session's user signed in (issue 17), for the device's session to start with:
 * the passport's amr and auth_time (a passport minted before they existed: a password, now).
 */
function approvalOf(passport: PassportClaims, now: number): { amr: readonly string[]; authTime: number } {
  return { amr: passport.amr ?? AMR_PASSWORD, authTime: passport.auth_time === undefined ? now : passport.auth_time * 1000 };
}

/**
 * POST /auth/device/approve {user_code} (browser session + CSRF token, checked by the gateway) -> 200
 * {status: "approved"}: signs the device in: its next poll gets tokens of a new device session for the caller. One conditional UPDATE: of two decisions only the first counts.
 */
export function registerDeviceApprove(app: FastifyInstance, { deps }: EndpointContext): void {
  app.post<{ Body: UserCodeBody }>(
    '/auth/device/approve',
    { schema: userCodeBodySchema, config: { lane: BROWSER_SESSION_LANE, openapi: DEVICE_APPROVE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const code = normaliseUserCode(request.body.user_code);
      const decided = await underUserCodeLimits(deps, request, () =>
        code === null ? Promise.resolve(null) : deps.stores.deviceCodes.decide(code, 'approved', passport.sub, deps.clock.now(), approvalOf(passport, deps.clock.now())),
      );
      if (decided === null) throw invalidUserCode();
      deps.logger.info(
        { event: 'device.approved', userId: passport.sub, sid: passport.sid, clientId: decided.clientId, deviceCodeHash: decided.deviceCodeHash, ip: clientIp(request) },
        'device approved',
      );
      return reply.code(200).header('cache-control', 'no-store').send({ status: 'approved' });
    },
  );
}
