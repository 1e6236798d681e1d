import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { ADMIN_LANE, laneOf } from '../lanes.js';
import { passportOf } from '../passport.js';
import { rateLimited } from '../rate-limit.js';

/** The role the admin API needs. */
export const ADMIN_ROLE = 'admin';

/** The path every admin route lives under. */
export const ADMIN_PREFIX = '/auth/admin/';

/** One admin call past the guard: who acts, what, and on whom (for its `admin.action` event). */
export interface AdminCall {
  /** The acting admin, as the store has them now. */
  readonly admin: UserRecord;
  readonly action: string;
  /** The user the call concerns, when there is one (a handler may set it: a session's owner). */
  target?: string;
  /** More facts for the event (never a secret): a client id, a key id. */
  readonly detail: Record<string, string | number | boolean>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An admin route's action name for its `admin.action` audit event (`users.list`, `users.disable`, …). */
    admin?: { action: string };
  }
  interface FastifyRequest {
    /** Set by the admin guard on an admin route once every check passed; null elsewhere. */
    adminCall: AdminCall | null;
  }
}

/** The admin call of a request that passed the guard (the admin routes' handlers). */
export function adminCallOf(request: FastifyRequest): AdminCall {
  const call = request.adminCall;
  if (call === null) throw new Error(`${request.method} ${request.url}: no admin call (the admin guard did not run)`);
  return call;
}

function routeOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? request.url}`;
}

/**
 * 401 `insufficient_user_authentication` (RFC 9470) exactly as the gateway's step-up refusal
 * (gateway/pipeline/authorize/authorize.ts `StepUpRefusal`): the same detail, `required`,
 * `max_age` and challenge. The admin pages send the browser to `/signin?reauth=1&next=…`.
 */
export function adminStepUpRefusal(required: 'mfa' | 'max_age', maxAgeSec: number): GatehouseError {
  const description = required === 'mfa' ? 'A sign-in with a second factor or a passkey is required' : `A sign-in within the last ${maxAgeSec} seconds is required`;
  return new GatehouseError('insufficient_user_authentication', {
    detail:
      required === 'mfa'
        ? 'This route needs a sign-in with a second factor or a passkey. API tokens and service tokens are never enough; re-authenticate (POST /auth/reauth) or sign in again with a second factor.'
        : `This route needs a sign-in within the last ${maxAgeSec} seconds. Re-authenticate (POST /auth/reauth) or sign in again.`,
    extra: { required, max_age: maxAgeSec },
    headers: {
      'www-authenticate': `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="${description}", max_age=${maxAgeSec}`,
    },
  });
}

function adminRequired(request: FastifyRequest): GatehouseError {
  return new GatehouseError('admin_required', {
    detail: `${routeOf(request)} needs the admin role, which your account lacks. Ask an admin to run "gatehouse users grant <you> admin" on the server, then sign in again.`,
  });
}

/**
 * The admin guard, in this order (docs/admin.md): the lane (ADMIN_LANE: a browser session only,
 * checked by installLanes in front of this); the role, in the passport AND in a fresh read of
 * the user, who must not be disabled (403 `admin_required`); a recent sign-in, `auth_time`
 * within `admin.maxAuthAgeSec` and, with `admin.requireMfa`, an amr with `mfa` (401
 * `insufficient_user_authentication`); for writes (every method but GET and HEAD),
 * `admin.writesPerMinute` per admin (429 `rate_limited`).
 */
async function guard(deps: Deps, request: FastifyRequest, action: string): Promise<void> {
  const passport = passportOf(request);
  if (passport.auth !== 'session' || !passport.roles.includes(ADMIN_ROLE)) throw adminRequired(request);
  const admin = await deps.stores.users.findById(passport.sub);
  if (admin === null || isDisabled(admin) || !admin.roles.includes(ADMIN_ROLE)) throw adminRequired(request);
  const { maxAuthAgeSec, requireMfa, writesPerMinute } = deps.config.admin;
  if (requireMfa && !(passport.amr ?? []).includes('mfa')) throw adminStepUpRefusal('mfa', maxAuthAgeSec);
  const nowSec = Math.floor(deps.clock.now() / 1000);
  if (passport.auth_time === undefined || nowSec - passport.auth_time > maxAuthAgeSec) throw adminStepUpRefusal('max_age', maxAuthAgeSec);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const r = await deps.stores.rateLimits.consume(`admin:writes:${admin.id}`, { points: writesPerMinute, durationSec: 60 });
    if (!r.allowed) {
      deps.logger.info({ event: 'admin.write_limited', userId: admin.id, retryAfterMs: r.retryAfterMs }, 'admin write limit reached');
      throw rateLimited(r.retryAfterMs, `More than ${writesPerMinute} admin changes in a minute (admin.writesPerMinute).`);
    }
  }
  const params = request.params as Record<string, unknown> | undefined;
  const target = action.startsWith('users.') && typeof params?.id === 'string' ? params.id : undefined;
  request.adminCall = { admin, action, ...(target !== undefined ? { target } : {}), detail: {} };
}

/**
 * Puts the admin guard in front of every route under /auth/admin/ (and only there), after the
 * lane check, and records one `admin.action` event on the acting admin for every call that
 * passed it, reads too, with the answer's status (detail: action, target, status). A route
 * under /auth/admin/ that does not take ADMIN_LANE or names no action stops the service from
 * starting. Call after installLanes, before registering routes.
 */
export function installAdminGuard(app: FastifyInstance, deps: Deps): void {
  app.decorateRequest('adminCall', null);
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(ADMIN_PREFIX)) return;
    const action = (route.config as { admin?: { action?: string } } | undefined)?.admin?.action;
    if (laneOf(route) !== ADMIN_LANE || action === undefined || action === '') {
      throw new Error(`${String(route.method)} ${route.url} is an admin route: it must take ADMIN_LANE and name its action (config.admin.action; see auth/admin/guard.ts).`);
    }
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [...own, async (request: FastifyRequest) => guard(deps, request, action)];
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const call = request.adminCall;
    if (call === null) return payload;
    request.adminCall = null;
    await recordAudit(deps, request, {
      type: 'admin.action',
      userId: call.admin.id,
      deviceId: request.passport?.did ?? null,
      detail: { action: call.action, ...(call.target !== undefined ? { target: call.target } : {}), ...call.detail, status: reply.statusCode },
    });
    return payload;
  });
}
