import { StoreUnavailableError } from '../../errors/index.js';
import type { Logger } from '../../util/logger.js';
import type { StoreHealth } from './store-health.js';

/** Whether `err` is the expected face of a store outage (refused, timed out, breaker open, disk full). */
export function isStoreOutage(err: unknown): err is StoreUnavailableError {
  return err instanceof StoreUnavailableError;
}

/**
 * Logs a failed store call on a request or background path. An outage is expected and already
 * logged once per state change by `StoreHealth` (down, back, summaries), so it goes to debug
 * (no stack, no line per request); anything else is a fault worth a warning with its stack.
 */
export function logStoreFailure(logger: Logger, err: unknown, msg: string, fields: Record<string, unknown> = {}): void {
  if (isStoreOutage(err)) logger.debug({ ...fields, err }, msg);
  else logger.warn({ ...fields, err }, msg);
}

/**
 * A request answered 503 for want of a store: counted for the outage summary (and metrics),
 * logged at debug only. Returns false for anything that is not a store outage.
 */
export function noteRefusal(health: StoreHealth, logger: Logger, err: unknown, fields: Record<string, unknown> = {}): boolean {
  if (!isStoreOutage(err)) return false;
  health.countRefused();
  logger.debug({ ...fields, code: err.code, reason: err.detail }, 'request refused: a store it needs is unavailable');
  return true;
}
