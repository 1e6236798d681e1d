import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { clearSessionCookies } from '../cookies.js';
import { recordAudit } from '../audit.js';
import type { EndpointContext } from '../endpoint-context.js';
import { passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { canDefer } from '../pending-revocations.js';
import { endSessions, endSessionsLater } from '../sessions.js';
import type { SessionRecord } from '../../stores/types.js';

export const sessionsDeleteSchema = {
  params: {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: { type: 'string', minLength: 1, maxLength: 128 } },
  },
} as const;

/** The path parameters as the schema above admits them (derived, so the two cannot drift apart). */
export type SessionParams = FromSchema<(typeof sessionsDeleteSchema)['params']>;

const SESSIONS_DELETE_DOC: OperationDoc = {
  summary: 'Sign one of the user\'s devices out',
  answers: { 204: { description: 'That device is signed out.' } },
};

/** DELETE /auth/sessions/:id -> 204: signs that device out; 404 when it is not one of the caller's sessions. */
export function registerSessionsDelete(app: FastifyInstance, { deps }: EndpointContext): void {
  app.delete<{ Params: SessionParams }>(
    '/auth/sessions/:id',
    { schema: sessionsDeleteSchema, config: { lane: ACCOUNT_LANE, openapi: SESSIONS_DELETE_DOC } },
    async (request, reply) => {
      const passport = passportOf(request);
      const { id } = request.params;
      let session: SessionRecord | null | undefined;
      try {
        session = await deps.stores.sessions.findById(id);
      } catch (err) {
        // The store is away: the sign-out waits in Redis, scoped to the caller's own sessions
        // (pending-revocations.ts); whether the id exists is known when the store is back.
        if (!canDefer(deps, err)) throw err;
        await endSessionsLater(deps, { sessionIds: [id], userId: passport.sub }, err, request);
      }
      // Someone else's session answers exactly like a missing one.
      if (session === null || (session !== undefined && session.userId !== passport.sub)) throw new GatehouseError('not_found', { detail: 'No such session.' });
      if (session !== undefined) await endSessions(deps, { sessionIds: [id], userId: passport.sub }, request);
      if (id === passport.sid) clearSessionCookies(reply, deps.config);
      await recordAudit(deps, request, {
        type: 'session.removed',
        userId: passport.sub,
        deviceId: passport.did ?? null,
        detail: { sid: id, ...(session ? { removed_device_id: session.deviceId } : { pending: true }), ...(session?.deviceName ? { removed_device_name: session.deviceName } : {}), current: id === passport.sid },
      });
      return reply.code(204).send();
    },
  );
}
