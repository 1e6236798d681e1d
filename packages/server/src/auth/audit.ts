import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { randomId } from '../crypto/secrets.js';
import { isStoreOutage } from '../stores/health/outage-log.js';
import type { AuditEvent, AuditEventType } from '../stores/types.js';
import { clientIp } from './client-ip.js';
import { notifyFor } from './email/notifications.js';

const USER_AGENT_MAX = 256;

/** The client's User-Agent (forwarded by the gateway), without control characters, at most 256 characters. */
export function userAgentOf(request: FastifyRequest): string | null {
  const ua = request.headers['user-agent'];
  if (typeof ua !== 'string') return null;
  const clean = ua.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return clean === '' ? null : clean.slice(0, USER_AGENT_MAX);
}

export interface AuditInput {
  type: AuditEventType;
  userId: string | null;
  deviceId?: string | null;
  /** Small facts; never a password, token, hash, cookie or unknown username. */
  detail?: Record<string, string | number | boolean>;
}

function buildEvent(deps: Deps, request: FastifyRequest | null, input: AuditInput): AuditEvent {
  return {
    id: randomId(),
    userId: input.userId,
    type: input.type,
    at: deps.clock.now(),
    ip: request ? clientIp(request) : null,
    deviceId: input.deviceId ?? null,
    userAgent: request ? userAgentOf(request) : null,
    detail: input.detail && Object.keys(input.detail).length > 0 ? input.detail : null,
  };
}

async function store(deps: Deps, event: AuditEvent): Promise<void> {
  deps.logger.info(
    { event: event.type, userId: event.userId, ip: event.ip, deviceId: event.deviceId, userAgent: event.userAgent, detail: event.detail },
    'security event',
  );
  try {
    await deps.stores.audit.append(event);
    // Security notifications by mail (issue 18): one map, email/notifications.ts; in the background.
    notifyFor(deps, event);
  } catch (err) {
    // An outage is logged once by stores.health; anything else is a fault.
    if (isStoreOutage(err)) deps.logger.debug({ err, event: event.type, userId: event.userId }, 'could not record a security event');
    else deps.logger.error({ err, event: event.type, userId: event.userId }, 'could not record a security event');
  }
}

/**
 * Records a security event: in the audit store (the user's account activity) and, always, in
 * the structured log at info (`event: '<type>'`) for operators. A store failure is logged and
 * does not fail the request the event belongs to.
 */
export async function recordAudit(deps: Deps, request: FastifyRequest | null, input: AuditInput): Promise<void> {
  await store(deps, buildEvent(deps, request, input));
}

/**
 * Security events written without making the answer wait (`record`), and waited for on close
 * (`settle`). One per auth service (auth-context.ts, `AuthContext.backgroundAudit`).
 */
export class BackgroundAudit {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: Deps) {}

  /**
   * Like `recordAudit`, without making the answer wait for the write. For events that only a
   * KNOWN account produces on a path an unknown account shares (a failed or locked sign-in): an
   * awaited write would make the answer measurably slower for existing usernames.
   */
  record(request: FastifyRequest | null, input: AuditInput | (() => Promise<AuditInput | null>)): void {
    const deps = this.deps;
    const event = typeof input === 'function' ? null : buildEvent(deps, request, input);
    const work = (async () => {
      if (event) return store(deps, event);
      const resolved = await (input as () => Promise<AuditInput | null>)();
      if (resolved) await store(deps, buildEvent(deps, request, resolved));
    })().catch((err: unknown) => (isStoreOutage(err) ? deps.logger.debug({ err }, 'could not record a security event') : deps.logger.error({ err }, 'could not record a security event')));
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  /** Waits for the events recorded so far (so a read sees its own writes). */
  async settle(): Promise<void> {
    if (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

const SWEEP_EVERY_MS = 3600_000;
const DAY_MS = 24 * 3600_000;

/** Deletes security events older than `audit.retentionDays`, at start and then hourly, until the service closes. */
export function startAuditSweeper(app: FastifyInstance, deps: Deps): void {
  const sweep = async (): Promise<void> => {
    try {
      const deleted = await deps.stores.audit.deleteOlderThan(deps.clock.now() - deps.config.audit.retentionDays * DAY_MS);
      if (deleted > 0) deps.logger.info({ deleted }, 'old security events deleted');
    } catch (err) {
      deps.logger.warn({ err }, 'could not delete old security events');
    }
  };
  const timer = setInterval(() => void sweep(), SWEEP_EVERY_MS);
  timer.unref();
  void sweep();
  app.addHook('onClose', async () => clearInterval(timer));
}
