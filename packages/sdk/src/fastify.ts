/**
 * `@gatehouse/sdk/fastify`: the Fastify hook typed against Fastify's own request and reply, and the
 * `FastifyRequest` augmentation that types `request.passport`. Importing this entry point (for its
 * hook, or as `import '@gatehouse/sdk/fastify'`) is what makes `request.passport!.sub` compile under
 * `--strict`; the main entry point never imports Fastify, so services without it pay nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PassportClaims } from './claims.js';
import type { PassportMiddlewareOptions } from './middleware/authenticate.js';
import { fastifyPassport as structuralFastifyPassport } from './middleware/fastify.js';
import type { PassportVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The verified passport, set by `fastifyPassport`: always a passport on routes behind the hook
     * (it refuses the others), null with `required: false` and no passport. Declare it with
     * `app.decorateRequest('passport', null)`.
     */
    passport: PassportClaims | null;
  }
}

/**
 * A Fastify `onRequest` hook: sets `request.passport`, or answers the refusal itself after calling
 * `onError(err, request)` (default: one line on `request.log` naming `err.code`).
 *
 *     app.decorateRequest('passport', null);
 *     app.addHook('onRequest', fastifyPassport(verifier));
 */
export function fastifyPassport(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions<FastifyRequest> = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return structuralFastifyPassport<FastifyRequest>(verifier, options);
}

export type { PassportClaims, PassportMiddlewareOptions };
