/** The error codes the demo services answer with: a subset of Gatehouse's error registry with its statuses and titles (the server's errors/copies.test.ts checks). */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'The request is malformed' },
  invalid_body: { status: 400, title: 'The request body is not valid' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'A store or service needed for this request is unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
}

export function problem(code: ProblemCode, detail?: string): Problem {
  const { status, title } = PROBLEMS[code];
  return { type: `urn:gatehouse:error:${code}`, title, status, detail: (status < 500 || code === 'unavailable') && detail ? detail : title, code };
}

/** SQLite and file-system codes of a full disk: nothing the client did, and not fixed by retrying at once. */
const STORAGE_FULL = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);
/** SQLite codes of a database that cannot answer now (locked past busy_timeout, I/O error). */
const STORE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|READONLY)/;

/** An error a route throws on purpose; the error handler turns it into its problem document. */
export class ServiceError extends Error {
  override readonly name = 'ServiceError';
  readonly code: ProblemCode;
  readonly detail: string | undefined;

  constructor(code: ProblemCode, detail?: string) {
    super(detail ?? code);
    this.code = code;
    this.detail = detail;
  }
}

const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_body',
};

interface FastifyishError {
  code?: unknown;
  statusCode?: unknown;
  validation?: unknown;
  validationContext?: unknown;
  message?: unknown;
}

/**
 * Maps anything a route or Fastify threw to a problem document. Client errors keep a short,
 * fixed or validation-derived detail; everything else is a generic 500 with no detail.
 */
export function problemFor(err: unknown): Problem {
  if (err instanceof ServiceError) return problem(err.code, err.detail);
  const e = (typeof err === 'object' && err !== null ? err : {}) as FastifyishError;
  if (Array.isArray(e.validation)) {
    const where = e.validationContext === 'body' ? 'invalid_body' : 'invalid_request';
    return problem(where, typeof e.message === 'string' ? e.message : undefined);
  }
  if (typeof e.code === 'string' && STORAGE_FULL.has(e.code)) return problem('unavailable', 'The service cannot store data right now: its storage is full.');
  if (typeof e.code === 'string' && STORE_UNAVAILABLE.test(e.code)) return problem('unavailable', 'The service cannot reach its database right now; try again shortly.');
  const mapped = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return problem(mapped, mapped === 'invalid_body' ? 'The body is not valid JSON.' : undefined);
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 404) return problem('not_found');
    if (e.statusCode === 413) return problem('payload_too_large');
    if (e.statusCode === 415) return problem('unsupported_media_type');
    return problem('invalid_request');
  }
  return problem('internal');
}
