import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import { clientIp, ipBucket } from './client-ip.js';

/** Whole seconds for `Retry-After`, at least 1. */
export function retryAfterSec(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** 429 `rate_limited` (problem+json, also on the token endpoint) with `Retry-After` in seconds. */
export function rateLimited(retryAfterMs: number, what: string): GatehouseError {
  const sec = retryAfterSec(retryAfterMs);
  return new GatehouseError('rate_limited', {
    detail: `${what} Try again in ${sec} second${sec === 1 ? '' : 's'}.`,
    headers: { 'retry-after': String(sec) },
    extra: { retry_after: sec },
  });
}

/**
 * Counts one attempt of `purpose` for the client's address (an IPv6 address by its /64) and
 * throws 429 beyond `perMinute` a minute. `perMinute` 0 turns the limit off. `what` names the
 * attempts in the 429's detail when they are not the purpose's own (a rename counts as a
 * sign-up: both tell whether a name is taken).
 */
export async function limitPerIp(deps: Deps, request: FastifyRequest, purpose: 'signin' | 'signup', perMinute: number, what?: string): Promise<void> {
  if (perMinute <= 0) return;
  const ip = clientIp(request);
  const r = await deps.stores.rateLimits.consume(`${purpose}:ip:${ipBucket(ip)}`, { points: perMinute, durationSec: 60 });
  if (r.allowed) return;
  deps.logger.info({ event: `${purpose}.ip_limited`, ip, retryAfterMs: r.retryAfterMs }, 'per-IP limit reached');
  throw rateLimited(r.retryAfterMs, `Too many ${what ?? (purpose === 'signin' ? 'sign-in' : 'sign-up')} attempts from your network.`);
}
