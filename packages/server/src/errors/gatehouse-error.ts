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

/** Thrown by a store when the backend cannot answer (connection refused, timeout, locked). */
export class StoreUnavailableError extends GatehouseError {
  constructor(store: string, cause?: unknown) {
    super('unavailable', { detail: `The ${store} store is unavailable; try again shortly.`, cause });
    this.name = 'StoreUnavailableError';
  }
}
