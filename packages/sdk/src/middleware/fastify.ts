import type { PassportClaims } from '../claims.js';
import type { HeadersLike } from '../headers.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

/** The parts of a Fastify request the hook uses (structural, so the SDK needs no Fastify import). */
export interface FastifyRequestLike {
  headers: HeadersLike;
  passport?: PassportClaims | null;
}

/** The parts of a Fastify reply the hook uses. */
export interface FastifyReplyLike {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

/**
 * A Fastify `onRequest` (or `preHandler`) hook: sets `request.passport` to the verified claims, or
 * answers 401 problem+json (503 when the keys cannot be loaded). Declare the property once with
 * `app.decorateRequest('passport', null)` and augment `FastifyRequest` with `passport`.
 *
 *     app.decorateRequest('passport', null);
 *     app.addHook('onRequest', fastifyPassport(verifier));
 */
export function fastifyPassport(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions = {},
): (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<void> {
  const required = options.required ?? true;
  return async function passportHook(request, reply) {
    const result = await authenticate(verifier, request.headers, required);
    if (result.ok) {
      request.passport = result.claims;
      return;
    }
    const { refusal } = result;
    reply.code(refusal.status);
    for (const [name, value] of Object.entries(refusal.headers)) reply.header(name, value);
    // Send the serialized body (an app-level serializer must not reshape the problem document), and
    // wait until it is written: with async onSend hooks, returning earlier would let the route run.
    await reply.send(JSON.stringify(refusal.body));
  };
}
