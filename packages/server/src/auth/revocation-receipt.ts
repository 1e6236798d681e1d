import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MAX_REVOKED_EVENTS, REVOKED_HEADER } from '../credentials/revocation.js';
import type { RevocationEvent } from '../stores/types.js';

/**
 * The auth service's side of the revocation receipt (`credentials/revocation.ts`): the revocations
 * a request took, written in REVOKED_HEADER on its 2xx answer for the gateway that proxied it.
 *
 * The request is handed down explicitly to whatever revokes on its behalf (`publishRevocation`,
 * `endSessions`, … take it as their last argument), not found through AsyncLocalStorage: on
 * Node 20 that enables async hooks for the whole process, and in `gatehouse start` the gateway
 * shares the process, so every proxied request paid for them (about 9,000 instructions a request,
 * bench/instructions.mjs, issue 16 §4).
 */

declare module 'fastify' {
  interface FastifyRequest {
    /** The revocations taken on behalf of this request (`noteRevocation`); null: none. */
    revocationReceipt: RevocationEvent[] | null;
  }
}

/** The request a revocation is taken for, whose answer carries the receipt; null or undefined: none (the CLI, the pending replay). */
export type ReceiptRequest = Pick<FastifyRequest, 'revocationReceipt'> | null | undefined;

/** Notes a revocation taken on behalf of `request` (no-op without one). */
export function noteRevocation(request: ReceiptRequest, event: RevocationEvent): void {
  if (request === null || request === undefined) return;
  (request.revocationReceipt ??= []).push(event);
}

/** Writes the revocations a request took in REVOKED_HEADER on its 2xx answer. Call before any route is registered. */
export function installRevocationReceipts(app: FastifyInstance): void {
  app.decorateRequest('revocationReceipt', null);
  app.addHook('onSend', async (request, reply, payload) => {
    const events = request.revocationReceipt;
    if (events !== null && events.length > 0 && reply.statusCode >= 200 && reply.statusCode < 300) {
      reply.header(REVOKED_HEADER, JSON.stringify(events.slice(-MAX_REVOKED_EVENTS)));
    }
    return payload;
  });
}
