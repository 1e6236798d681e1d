import { ERROR_REGISTRY, type ErrorCode } from './registry.js';

export interface GatehouseErrorOptions {
  /** Human-readable explanation for the client. Never include secrets or internals. */
  detail?: string;
  /** The underlying error, kept for logs only. */
  cause?: unknown;
  /** Extra response headers (e.g. Retry-After, WWW-Authenticate). */
  headers?: Record<string, string>;
  /** Extra members of the problem document (e.g. `errors` for field errors). */
  extra?: Record<string, unknown>;
}

/** The one base error: a stable `code` from the registry, an HTTP `status`, and a `cause`. */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: GatehouseErrorOptions = {}) {
    super(options.detail ?? ERROR_REGISTRY[code].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatehouseError';
    this.code = code;
    this.status = ERROR_REGISTRY[code].status;
    this.detail = options.detail;
    this.headers = options.headers;
    this.extra = options.extra;
  }
}

/** Driver and system codes of "no space left": SQLite, the file system (ENOSPC, EDQUOT), PostgreSQL (53100 disk_full). */
const STORAGE_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);

/** Whether `err` (or an error it wraps) says the storage is full: retrying soon will not help. */
export function isStorageFullError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && STORAGE_FULL_CODES.has(code)) return true;
  return isStorageFullError((err as { cause?: unknown }).cause, depth + 1);
}

/**
 * Thrown by a store when the backend cannot answer (connection refused, timeout, locked, the
 * circuit breaker open), or cannot store data (disk full: the detail says so, since "try again
 * shortly" would mislead).
 */
export class StoreUnavailableError extends GatehouseError {
  constructor(store: string, cause?: unknown) {
    const detail = isStorageFullError(cause)
      ? 'The server cannot store data right now: its storage is full.'
      : `The ${store} store is unavailable; try again shortly.`;
    super('unavailable', { detail, cause });
    this.name = 'StoreUnavailableError';
  }
}
