import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';
import { isRevocationEvent } from '../stores/redis/redis-revocation-feed.js';
import type { RevocationEvent } from '../stores/types.js';

/**
 * The auth service's answer header that lists the revocations a request took (JSON array of
 * RevocationEvent). The gateway that proxied the request reads it from the auth service's 2xx
 * answers only, applies it to its own revocation set before it relays the answer, and never
 * relays the header (strip.ts), so the credential is refused on that gateway from the very next
 * request, whatever the state of Redis (issue 11 item 17). Any other upstream's header of that
 * name is dropped unread.
 */
export const REVOKED_HEADER = 'x-gatehouse-revoked';

/** Most events one answer names (a sign-out-all of many devices): the rest reach the gateway through the feed. */
const MAX_EVENTS = 64;

const collector = new AsyncLocalStorage<RevocationEvent[]>();

declare module 'fastify' {
  interface FastifyRequest {
    /** The revocations the route handler took (`installRevocationReceipts`); null before it runs. */
    revocationReceipt: RevocationEvent[] | null;
  }
}

/** Notes a revocation taken on behalf of the request being handled (no-op outside one). */
export function noteRevocation(event: RevocationEvent): void {
  collector.getStore()?.push(event);
}

/**
 * Runs every route handler with a collector of the revocations it takes, and writes them in
 * REVOKED_HEADER on a 2xx answer. Call before any route is registered.
 */
export function installRevocationReceipts(app: FastifyInstance): void {
  app.decorateRequest('revocationReceipt', null);
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: unknown, request, reply) {
      const events: RevocationEvent[] = [];
      request.revocationReceipt = events;
      return collector.run(events, () => handler.call(this as never, request, reply));
    };
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const events = request.revocationReceipt;
    if (events !== null && events.length > 0 && reply.statusCode >= 200 && reply.statusCode < 300) {
      reply.header(REVOKED_HEADER, JSON.stringify(events.slice(-MAX_EVENTS)));
    }
    return payload;
  });
}

/** The events of a REVOKED_HEADER value; malformed input gives none. */
export function parseRevokedHeader(value: string): RevocationEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.slice(0, MAX_EVENTS).filter(isRevocationEvent);
}
