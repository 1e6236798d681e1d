import type { Deps } from '../context.js';
import { GatehouseError, StoreUnavailableError } from '../errors/index.js';
import type { RevocationEvent } from '../stores/types.js';
import { startedBefore } from '../credentials/revocation.js';
import { authMetricsOf } from './auth-metrics.js';
import { noteRevocation, type ReceiptRequest } from './revocation-receipt.js';

/**
 * Publishing revocations (`publishRevocation`: durably, then on the feed), and revocations while
 * PostgreSQL is away (issue 11 item 13; docs/design-notes.md): a sign-out,
 * sign-out-all, remote sign-out or API-token deletion that cannot reach the durable store is
 * recorded in the PendingRevocationStore (Redis, acknowledged before the answer) and spread on
 * the feed as a `pending` event, so every gateway refuses the credential at once and keeps
 * refusing it until the store has it. Every instance (auth and gateways) applies what is
 * pending as soon as the store answers again (`startPendingReplay`), idempotently, and forgets
 * it only after the store confirmed. With the store and Redis both away the revocation is not
 * recorded at all and the caller gets 503 saying so.
 */

/** How long a revocation is kept in the durable store (longer than any session or token lives). */
export const REVOCATION_KEEP_MS = 90 * 24 * 3600 * 1000;

/**
 * Publishes a revocation and records it durably until `keepUntil` (default: REVOCATION_KEEP_MS
 * after it happened). `request`: the one it is taken for, whose answer names it to the gateway.
 */
export async function publishRevocation(deps: Deps, event: RevocationEvent, request?: ReceiptRequest, keepUntil = event.at + REVOCATION_KEEP_MS): Promise<void> {
  // Durable first, then spread: whatever a gateway hears by pub/sub, a restarted gateway's
  // warm-up and the polling fallback (Redis away) find too. Publishing is never held up by
  // Redis (the feed sends without waiting). Should the write fail, the event is still spread
  // (refusing sooner is never wrong) and the error goes to the caller (503, retried).
  // PostgreSQL away (scale-out): the revocation waits in Redis and spreads as pending
  // (recordPending below); both away: 503, nothing spread.
  try {
    await deps.stores.revocations.add(event, keepUntil);
  } catch (err) {
    if (canDefer(deps, err)) {
      await recordPending(deps, event, err, request);
      authMetricsOf(deps).revocation(event.type);
      return;
    }
    await deps.feed.publish(event).catch(() => undefined);
    throw err;
  }
  noteRevocation(request, event);
  authMetricsOf(deps).revocation(event.type);
  await deps.feed.publish(event);
}

/** Whether `err` says a store could not answer (then a revocation may wait in Redis). */
export function canDefer(deps: Pick<Deps, 'pendingRevocations'>, err: unknown): boolean {
  return deps.pendingRevocations !== undefined && err instanceof GatehouseError && err.code === 'unavailable';
}

/** The 503 of a revocation that could be recorded nowhere: nothing was revoked. */
export function notRecorded(cause?: unknown): GatehouseError {
  return new GatehouseError('unavailable', {
    detail: 'The sign-out could not be recorded: the database and Redis are both unreachable. Your session (or token) is still active; try again shortly.',
    headers: { 'retry-after': '5' },
    cause,
  });
}

/**
 * Records `event` as pending (Redis) and spreads it; throws `notRecorded` (and spreads nothing)
 * when Redis cannot take it either. Returns the pending event.
 */
export async function recordPending(deps: Deps, event: RevocationEvent, cause?: unknown, request?: ReceiptRequest): Promise<RevocationEvent> {
  const store = deps.pendingRevocations;
  if (store === undefined) throw notRecorded(cause);
  const pending: RevocationEvent = { ...event, pending: true };
  try {
    await store.add(pending);
  } catch (err) {
    // Refused by the store itself (full): its own answer.
    if (err instanceof GatehouseError && !(err instanceof StoreUnavailableError)) throw err;
    deps.logger.error({ err, type: event.type }, 'a revocation could not be recorded: PostgreSQL and Redis are both unreachable');
    throw notRecorded(err);
  }
  deps.logger.warn({ event: 'revocation.pending', type: event.type }, 'PostgreSQL unreachable: revocation held in Redis until it is back');
  noteRevocation(request, pending);
  await deps.feed.publish(pending);
  return pending;
}

/**
 * Applies one pending revocation to the durable store (idempotent: run again, it changes
 * nothing more), records it in the revocation log, forgets it in Redis, then spreads the applied
 * copy (gateways stop holding the pending one). A session or token that belongs to another
 * user than the one who asked is left alone.
 */
export async function applyPending(deps: Deps, event: RevocationEvent): Promise<void> {
  const { sessions, apiTokens, revocations } = deps.stores;
  switch (event.type) {
    case 'session': {
      const record = await sessions.findById(event.sid);
      if (record !== null && (event.userId === undefined || record.userId === event.userId)) await sessions.delete(event.sid);
      break;
    }
    case 'user':
      if (event.sessions === true) {
        for (const s of await sessions.listByUser(event.userId)) {
          if (!startedBefore(s.createdAt, event.notBefore)) continue;
          // Each ended session by its id (recorded, then spread) before it goes: an access token
          // of it issued in the not-before's own second passes the not-before (whole seconds),
          // and is refused by its `sid` instead, as after a sign-out-all with the store.
          await publishRevocation(deps, { type: 'session', sid: s.id, at: deps.clock.now() });
          await sessions.delete(s.id);
        }
      }
      break;
    case 'api_token':
      if (event.userId !== undefined) await apiTokens.delete(event.tokenId, event.userId);
      break;
    case 'access_token':
      break;
    case 'session_auth':
      // Never recorded as pending (re-authentication needs the session store).
      break;
    case 'client':
      // `clients remove` deletes the client before it records the event (and cannot while the
      // store is away), so there is nothing left to apply.
      break;
  }
  const now = deps.clock.now();
  const applied: RevocationEvent = { ...event, at: now };
  delete applied.pending;
  await revocations.add(applied, event.type === 'access_token' ? event.exp * 1000 + 60_000 : now + REVOCATION_KEEP_MS);
  await deps.pendingRevocations?.remove(event);
  await deps.feed.publish(applied);
}

/** How often every instance looks for pending revocations (one HGETALL of an empty hash, usually). */
export const PENDING_REPLAY_MS = 1000;
const WARN_EVERY_MS = 10_000;

/**
 * Applies pending revocations every `everyMs` while there are any and the store answers. Runs
 * in every role (`startBackground`), so whichever instance sees PostgreSQL back first applies
 * them, even when the auth service that took them is gone. Returns a stop function.
 */
export function startPendingReplay(deps: Deps, everyMs = PENDING_REPLAY_MS): () => void {
  const store = deps.pendingRevocations;
  if (store === undefined) return () => undefined;
  let running = false;
  let lastWarn = Number.NEGATIVE_INFINITY;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    let applied = 0;
    let listed = false;
    try {
      const events = await store.list();
      listed = true;
      for (const e of events) {
        await applyPending(deps, e);
        applied++;
      }
    } catch (err) {
      const now = Date.now();
      // Redis away (nothing could be listed): the feed says so already.
      if (listed && now - lastWarn >= WARN_EVERY_MS) {
        lastWarn = now;
        deps.logger.warn({ err: { message: (err as Error).message } }, 'pending revocations not applied yet (PostgreSQL or Redis unreachable); retrying');
      }
    } finally {
      running = false;
      if (applied > 0) deps.logger.info({ event: 'revocation.applied', count: applied }, 'pending revocations applied to PostgreSQL');
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
