import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';
import { MAX_REVOKED_EVENTS, REVOKED_HEADER } from '../credentials/revocation.js';
import type { RevocationEvent } from '../stores/types.js';

/**
 * The auth service's side of the revocation receipt (`credentials/revocation.ts`): the revocations
 * a request took, written in REVOKED_HEADER on its 2xx answer for the gateway that proxied it.
 */

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
      reply.header(REVOKED_HEADER, JSON.stringify(events.slice(-MAX_REVOKED_EVENTS)));
    }
    return payload;
  });
}
