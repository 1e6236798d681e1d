import { ERROR_REGISTRY, type ErrorCode } from './registry.js';
import { GatehouseError } from './gatehouse-error.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  [extra: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:gatehouse:error:${code}`;
}

/**
 * Turns any thrown value into what a client may see (RFC 9457). Only errors below 500 keep
 * their detail; anything else becomes a generic problem with the registry's title, so no
 * stack trace, library name or internal message ever reaches a client.
 */
export function toProblem(err: unknown): { problem: ProblemDocument; headers: Record<string, string> } {
  const ge = err instanceof GatehouseError ? err : new GatehouseError('internal', { cause: err });
  const entry = ERROR_REGISTRY[ge.code];
  const exposeDetail = ge.status < 500 || ge.code === 'unavailable' || ge.code === 'busy' || ge.code === 'bad_gateway' || ge.code === 'gateway_timeout';
  const problem: ProblemDocument = {
    ...(ge.status < 500 || ge.code === 'busy' ? ge.extra : undefined),
    type: problemType(ge.code),
    title: entry.title,
    status: ge.status,
    detail: exposeDetail && ge.detail ? ge.detail : entry.title,
    code: ge.code,
  };
  return { problem, headers: ge.headers ?? {} };
}
