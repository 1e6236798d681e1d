import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../context.js';
import { hasPassword } from '../../stores/types.js';
import { iso, type EndpointContext } from '../endpoint-context.js';
import { accountOf, passportOf } from '../passport.js';
import { ACCOUNT_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';

const IDENTITIES_LIST_DOC: OperationDoc = {
  summary: "The user's sign-in methods: whether it has a password, and its linked identity-provider accounts, oldest first",
  answers: {
    200: {
      description: 'The sign-in methods. `removable` is false on the last way to sign in (no password and no other identity).',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['has_password', 'identities'],
        properties: {
          has_password: { type: 'boolean' },
          identities: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['provider', 'provider_name', 'subject', 'email', 'linked_at', 'last_used_at', 'removable'],
              properties: {
                provider: { type: 'string' },
                provider_name: { type: ['string', 'null'] },
                subject: { type: 'string' },
                email: { type: ['string', 'null'] },
                linked_at: DATE_TIME,
                last_used_at: DATE_TIME,
                removable: { type: 'boolean' },
              },
            },
          },
        },
      },
    },
  },
};

/**
 * The display name of a configured provider (`federation.providers[].name`), or null when the
 * provider is no longer configured. Read loosely: the provider half (issue 15) owns that key.
 */
export function providerName(deps: Deps, id: string): string | null {
  const providers = (deps.config as { federation?: { providers?: ReadonlyArray<{ id?: unknown; name?: unknown }> } }).federation?.providers ?? [];
  const p = providers.find((x) => x.id === id);
  return typeof p?.name === 'string' ? p.name : null;
}

/** GET /auth/identities -> 200 {has_password, identities: [{provider, provider_name, subject, email, linked_at, last_used_at, removable}]}. */
export function registerIdentitiesList(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/auth/identities', { config: { lane: ACCOUNT_LANE, openapi: IDENTITIES_LIST_DOC } }, async (request, reply) => {
    const user = await accountOf(deps, passportOf(request));
    const identities = await deps.stores.identities.listForUser(user.id);
    const password = hasPassword(user);
    return reply.send({
      has_password: password,
      identities: identities.map((i) => ({
        provider: i.provider,
        provider_name: providerName(deps, i.provider),
        subject: i.subject,
        email: i.email,
        linked_at: iso(i.createdAt),
        last_used_at: iso(i.lastUsedAt),
        removable: password || identities.length > 1,
      })),
    });
  });
}
