import type { FastifyInstance } from 'fastify';
import { isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { hasPassword } from '../../stores/types.js';

/** The body of GET /auth/email (and of the writes that change it). */
export const EMAIL_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['email', 'verified', 'verified_at'],
  properties: {
    email: { type: ['string', 'null'] },
    verified: { type: 'boolean' },
    verified_at: { anyOf: [DATE_TIME, { type: 'null' }] },
  },
} as const;

/** GET's answer also says what changing the address asks for (the account page shows the password field or not). */
const EMAIL_GET_BODY = {
  ...EMAIL_BODY,
  required: [...EMAIL_BODY.required, 'password_required'],
  properties: { ...EMAIL_BODY.properties, password_required: { type: 'boolean' } },
} as const;

const EMAIL_GET_DOC: OperationDoc = {
  summary: "The user's email address and whether it is verified (only a verified address gets reset links and notifications)",
  answers: {
    200: {
      description:
        'email: null when none. password_required: changing the address (PUT) needs the current password; false for an account without one (signed up through a provider), where it needs a sign-in within the last ten minutes instead.',
      body: EMAIL_GET_BODY,
    },
  },
};

/** The answer for a user's address (or none). */
export function emailAnswer(e: { address: string; verifiedAt: number | null } | null): { email: string | null; verified: boolean; verified_at: string | null } {
  return { email: e?.address ?? null, verified: e !== null && e.verifiedAt !== null, verified_at: isoOrNull(e?.verifiedAt ?? null) };
}

/** What the audit log keeps of an address (`email.added`, `email.verified`): its domain, lower-cased; never the address. */
export function emailDomain(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** GET /auth/email -> 200 {email, verified, verified_at, password_required}. */
export function registerEmailGet(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/email', { config: { lane: ACCOUNT_LANE, openapi: EMAIL_GET_DOC } }, async (request, reply) => {
    const user = await accountOf(deps, passportOf(request));
    return reply.code(200).send({ ...emailAnswer(await deps.stores.emails.get(user.id)), password_required: hasPassword(user) });
  });
}
