import type { FastifyInstance } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { WebAuthnCredentialRecord } from '../../stores/types.js';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

/** A passkey as the endpoints show it (no key material beyond what identifies it). */
export const PASSKEY_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'created_at', 'last_used_at', 'synced', 'backed_up'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    created_at: DATE_TIME,
    last_used_at: { type: ['string', 'null'], format: 'date-time' },
    synced: { type: 'boolean' },
    backed_up: { type: 'boolean' },
  },
} as const;

export function passkeyJson(c: WebAuthnCredentialRecord) {
  return {
    id: c.id,
    name: c.name,
    created_at: iso(c.createdAt),
    last_used_at: isoOrNull(c.lastUsedAt),
    synced: c.deviceType === 'multiDevice',
    backed_up: c.backedUp,
  };
}

/** A passkey's name: trimmed, visible text. */
export function passkeyName(raw: string): string {
  const name = raw.trim();
  if (name === '' || /\p{C}/u.test(name)) throw new GatehouseError('invalid_body', { detail: 'The field "name" must be visible text without control characters.' });
  return name;
}

const DOC: OperationDoc = {
  summary: "The user's passkeys",
  answers: { 200: { description: 'Oldest first.', body: { type: 'object', additionalProperties: false, required: ['passkeys'], properties: { passkeys: { type: 'array', items: PASSKEY_JSON_SCHEMA } } } } },
};

/** GET /auth/passkeys -> 200 {passkeys: [{id, name, created_at, last_used_at, synced, backed_up}]}. */
export function registerPasskeysList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/passkeys', { config: { lane: ACCOUNT_LANE, openapi: DOC } }, async (request, reply) => {
    const user = await accountOf(deps, passportOf(request));
    const list = await deps.stores.webauthn.listCredentials(user.id);
    return reply.code(200).header('cache-control', 'no-store').send({ passkeys: list.map(passkeyJson) });
  });
}
