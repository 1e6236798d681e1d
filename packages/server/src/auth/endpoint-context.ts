import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import type { PassportHook } from './passport.js';

/** What every endpoint registration receives. */
export interface EndpointContext {
  deps: Deps;
  /** preHandler for endpoints that need a caller: verifies `x-passport`. */
  authenticate: PassportHook;
}

/**
 * The client address for security logs: the last `x-forwarded-for` entry, which is the one
 * the gateway appended (earlier entries come from the client and are not trusted).
 */
export function clientIp(request: FastifyRequest): string | undefined {
  const xff = request.headers['x-forwarded-for'];
  const value = Array.isArray(xff) ? xff[xff.length - 1] : xff;
  const last = value?.split(',').pop()?.trim();
  return last || request.ip;
}

/** ISO 8601 for times in response bodies. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
