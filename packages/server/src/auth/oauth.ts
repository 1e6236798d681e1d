import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatehouseError } from '../errors/index.js';
import type { StoreHealth } from '../stores/health/store-health.js';
import type { Logger } from '../util/logger.js';
import { logServerError, sendProblem, toGatehouseError } from './http-errors.js';

/**
 * Shared plumbing of the OAuth-shaped endpoints (token, revoke, introspect): bodies as
 * `application/x-www-form-urlencoded` or JSON, parameters as flat strings, and errors as
 * RFC 6749 §5.2 `{error, error_description}` in plain `application/json`.
 */

export const OAUTH_JSON = 'application/json; charset=utf-8';

/** The body types the OAuth endpoints read. */
export const OAUTH_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'application/json'] as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The parameters an OAuth endpoint reads with `readParams` (its request description in the OpenAPI document). */
    oauthParams?: Readonly<Record<string, ParamSpec>>;
  }
}

/** Parses a form body. A repeated parameter becomes an array, which `readParams` refuses (RFC 6749 §3.2). */
function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return out;
}

export interface ParamSpec {
  /** Longest value accepted, in characters. */
  maxLength: number;
}

/**
 * Reads the parameters of a form or JSON body: each known parameter must be a single string
 * of at most `maxLength` characters; an empty value counts as absent (RFC 6749 §3.2); an unknown
 * parameter, a repeated one or a non-string is `invalid_request` naming it.
 */
export function readParams<K extends string>(body: unknown, spec: Record<K, ParamSpec>): Partial<Record<K, string>> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatehouseError('invalid_request', { detail: 'The body must hold the request parameters (a form or a JSON object).' });
  }
  const out: Partial<Record<K, string>> = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (!Object.prototype.hasOwnProperty.call(spec, key)) throw new GatehouseError('invalid_request', { detail: `Unknown parameter "${key}".` });
    const k = key as K;
    if (Array.isArray(value)) throw new GatehouseError('invalid_request', { detail: `The parameter "${key}" is repeated.` });
    if (typeof value !== 'string') throw new GatehouseError('invalid_request', { detail: `The parameter "${key}" must be a string.` });
    if (value.length > spec[k].maxLength) {
      throw new GatehouseError('invalid_request', { detail: `The parameter "${key}" must be at most ${spec[k].maxLength} characters long.` });
    }
    if (value !== '') out[k] = value;
  }
  return out;
}

/** What `readParams(body, spec)` accepts, as a JSON Schema (for the OpenAPI document; `readParams` stays the check). */
export function paramsSchema(spec: Readonly<Record<string, ParamSpec>>): Record<string, unknown> {
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: 'string', maxLength: v.maxLength }])),
  };
}

export function requireParam(params: Partial<Record<string, string>>, name: string): string {
  const v = params[name];
  if (v === undefined) throw new GatehouseError('invalid_request', { detail: `Missing parameter "${name}".` });
  return v;
}

/** The OAuth error code for a client error or `busy`, or null when the error keeps the problem+json shape (413, 415, other 5xx). */
function oauthCode(err: GatehouseError): string | null {
  switch (err.code) {
    case 'invalid_request':
    case 'invalid_body':
      return 'invalid_request';
    case 'invalid_grant':
    case 'unsupported_grant_type':
    case 'invalid_scope':
    case 'invalid_client':
    case 'unauthorized_client':
    case 'invalid_target':
    // The device authorization grant's answers to a poll (RFC 8628 §3.5).
    case 'authorization_pending':
    case 'slow_down':
    case 'access_denied':
    case 'expired_token':
      return err.code;
    // A second factor is asked for (issue 17): the body carries mfa_token and factors.
    case 'mfa_required':
      return err.code;
    // An admin asked for a new password (issue 18): the body carries reset_token and expires_in; 400 as RFC 6749 errors are.
    case 'password_change_required':
      return err.code;
    case 'busy':
      // 503 with Retry-After, in the shape OAuth clients parse (RFC 6749 §4.1.2.1's code).
      return 'temporarily_unavailable';
    default:
      return null;
  }
}

export function sendOAuthError(reply: FastifyReply, err: GatehouseError, code: string): FastifyReply {
  return reply
    .code(code === 'password_change_required' ? 400 : err.status)
    .headers(err.headers ?? {})
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type(OAUTH_JSON)
    .send(JSON.stringify({ error: code, error_description: err.detail ?? err.message, ...(code === 'mfa_required' || code === 'password_change_required' ? err.extra : undefined) }));
}

/**
 * Registers OAuth endpoints in their own encapsulated context: only there are forms accepted,
 * and client errors answer in the OAuth shape. Everything else (413, 415, 503, 500) stays
 * problem+json like the rest of the service.
 */
export async function registerOAuthEndpoints(
  app: FastifyInstance,
  logger: Logger,
  bodyLimit: number,
  register: (scope: FastifyInstance) => void,
  health?: StoreHealth,
): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(formbody, { parser: parseForm });
    scope.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const ge = toGatehouseError(err, bodyLimit);
      const code = oauthCode(ge);
      if (code !== null) return sendOAuthError(reply, ge, code);
      logServerError(logger, health, ge, request);
      return sendProblem(reply, ge);
    });
    register(scope);
  });
}
