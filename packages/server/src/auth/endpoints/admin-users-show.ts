import type { FastifyInstance } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { hasPassword } from '../../stores/types.js';
import { iso, isoOrNull, type EndpointContext } from '../endpoint-context.js';
import { ADMIN_LANE } from '../lanes.js';
import { DATE_TIME, type OperationDoc } from '../openapi.js';
import { emailOf } from '../recovery/admin.js';
import { isSessionLive } from '../sessions.js';
import { userOrNotFound } from '../admin/lifecycle.js';
import { auditRow, AUDIT_ROW_SCHEMA, ID_PARAMS, userRow, USER_ROW_SCHEMA } from '../admin/paging.js';

export const adminUsersShowSchema = { params: ID_PARAMS } as const;
type Params = FromSchema<typeof ID_PARAMS>;

/** How many of the user's latest events the detail carries. */
export const USER_EVENTS_SHOWN = 50;
/** How many of the user's latest sign-ins are read to find each session's address. */
const SIGNINS_READ = 500;

const NULL_TIME = { type: ['string', 'null'], format: 'date-time' } as const;

const DOC: OperationDoc = {
  summary: 'Admin: one user with devices, API tokens, identities, second factors and latest events',
  answers: {
    200: {
      description: 'The user; never a secret (no password hash, token or TOTP secret).',
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['user', 'sessions', 'api_tokens', 'identities', 'factors', 'events'],
        properties: {
          user: {
            ...USER_ROW_SCHEMA,
            required: [...USER_ROW_SCHEMA.required, 'email', 'email_verified', 'password_change_required', 'has_password'],
            properties: {
              ...USER_ROW_SCHEMA.properties,
              email: { type: ['string', 'null'] },
              email_verified: { type: 'boolean' },
              password_change_required: { type: 'boolean' },
              has_password: { type: 'boolean' },
            },
          },
          sessions: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'device_id', 'device_name', 'kind', 'created_at', 'last_seen_at', 'ip'],
              properties: {
                id: { type: 'string' },
                device_id: { type: 'string' },
                device_name: { type: ['string', 'null'] },
                kind: { type: 'string', enum: ['browser', 'token'] },
                created_at: DATE_TIME,
                last_seen_at: DATE_TIME,
                ip: { type: ['string', 'null'] },
              },
            },
          },
          api_tokens: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['id', 'name', 'scopes', 'created_at', 'last_used_at', 'expires_at'],
              properties: { id: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } }, created_at: DATE_TIME, last_used_at: NULL_TIME, expires_at: NULL_TIME },
            },
          },
          identities: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['provider', 'subject', 'email', 'created_at', 'last_used_at'],
              properties: { provider: { type: 'string' }, subject: { type: 'string' }, email: { type: ['string', 'null'] }, created_at: DATE_TIME, last_used_at: DATE_TIME },
            },
          },
          factors: {
            type: 'object',
            additionalProperties: false,
            required: ['totp', 'recovery_codes', 'passkeys'],
            properties: {
              totp: { type: 'boolean' },
              recovery_codes: { type: 'integer' },
              passkeys: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['id', 'name', 'created_at', 'last_used_at'],
                  properties: { id: { type: 'string' }, name: { type: 'string' }, created_at: DATE_TIME, last_used_at: NULL_TIME },
                },
              },
            },
          },
          events: { type: 'array', maxItems: USER_EVENTS_SHOWN, items: AUDIT_ROW_SCHEMA },
        },
      },
    },
  },
};

/** GET /auth/admin/users/:id -> {user, sessions, api_tokens, identities, factors, events}; 404 for an unknown id. */
export function registerAdminUsersShow(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get<{ Params: Params }>(
    '/auth/admin/users/:id',
    { schema: adminUsersShowSchema, config: { lane: ADMIN_LANE, admin: { action: 'users.show' }, openapi: DOC } },
    async (request, reply) => {
      const { id } = request.params;
      const user = await userOrNotFound(deps, id);
      const now = deps.clock.now();
      const [email, sessions, tokens, identities, totp, recoveryCodes, passkeys, events, signins] = await Promise.all([
        emailOf(deps, id),
        deps.stores.sessions.listByUser(id),
        deps.stores.apiTokens.listByUser(id),
        deps.stores.identities.listForUser(id),
        deps.stores.mfa.findTotp(id),
        deps.stores.mfa.countUnusedRecoveryCodes(id),
        deps.stores.webauthn.listCredentials(id),
        deps.stores.audit.query({ userId: id }, { limit: USER_EVENTS_SHOWN, order: 'desc' }),
        deps.stores.audit.query({ userId: id, types: ['signin.success'] }, { limit: SIGNINS_READ, order: 'desc' }),
      ]);
      // Where each session began: its sign-in event (the newest first, so a replaced device's latest).
      const ipOf = new Map<string, string | null>();
      for (const r of signins) {
        const sid = r.event.detail?.sid;
        if (typeof sid === 'string' && !ipOf.has(sid)) ipOf.set(sid, r.event.ip);
      }
      return reply.send({
        user: { ...userRow(user), email: email?.address ?? null, email_verified: email?.verified ?? false, password_change_required: user.passwordChangeRequired, has_password: hasPassword(user) },
        sessions: sessions
          .filter((s) => isSessionLive(s, now))
          .sort((a, b) => b.lastSeenAt - a.lastSeenAt)
          .map((s) => ({
            id: s.id,
            device_id: s.deviceId,
            device_name: s.deviceName,
            kind: s.scope === null || s.scope === undefined ? 'browser' : 'token',
            created_at: iso(s.createdAt),
            last_seen_at: iso(s.lastSeenAt),
            ip: ipOf.get(s.id) ?? null,
          })),
        api_tokens: tokens.map((t) => ({ id: t.id, name: t.name, scopes: t.scopes, created_at: iso(t.createdAt), last_used_at: isoOrNull(t.lastUsedAt), expires_at: isoOrNull(t.expiresAt) })),
        identities: identities.map((i) => ({ provider: i.provider, subject: i.subject, email: i.email, created_at: iso(i.createdAt), last_used_at: iso(i.lastUsedAt) })),
        factors: {
          totp: totp !== null && totp.confirmedAt !== null,
          recovery_codes: recoveryCodes,
          passkeys: passkeys.map((p) => ({ id: p.id, name: p.name, created_at: iso(p.createdAt), last_used_at: isoOrNull(p.lastUsedAt) })),
        },
        events: events.map(auditRow),
      });
    },
  );
}
