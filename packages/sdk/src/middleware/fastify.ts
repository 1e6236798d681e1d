import type { PassportClaims } from '../claims.js';
import type { PassportError } from '../errors.js';
import type { HeadersLike } from '../headers.js';
import type { PassportVerifier } from '../verifier.js';
import { authenticate, report } from './authenticate.js';
import type { PassportMiddlewareOptions } from './authenticate.js';

/** The part of a pino-style logger (Fastify's `request.log`) the hook logs refusals with. */
export interface PassportLoggerLike {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** The parts of a Fastify request the hook uses (structural, so the SDK needs no Fastify import). */
export interface FastifyRequestLike {
  headers: HeadersLike;
  passport?: PassportClaims | null;
  log?: PassportLoggerLike;
}

/** The parts of a Fastify reply the hook uses. */
export interface FastifyReplyLike {
  code(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

/**
 * Without `onError`: one line on the request's logger, naming the cause (`info` for a request
 * without a passport, `warn` otherwise: behind the gateway a refused passport means a wrong
 * issuer, audience or key set, or a caller going around the gateway).
 */
function logRefusal(err: PassportError, request: FastifyRequestLike): void {
  const line = { passportError: err.code };
  const msg = `passport refused: ${err.code} (${err.message})`;
  if (err.code === 'passport_missing') request.log?.info(line, msg);
  else request.log?.warn(line, msg);
}

/**
 * A Fastify `onRequest` (or `preHandler`) hook: sets `request.passport` to the verified claims, or
 * answers 401 problem+json (503 when the keys cannot be loaded) after calling `onError` (by
 * default: a line on `request.log`). Declare the property once with
 * `app.decorateRequest('passport', null)`; `import '@gatehouse/sdk/fastify'` types it.
 *
 *     app.decorateRequest('passport', null);
 *     app.addHook('onRequest', fastifyPassport(verifier));
 */
export function fastifyPassport<Req extends FastifyRequestLike = FastifyRequestLike>(
  verifier: PassportVerifier,
  options: PassportMiddlewareOptions<Req> = {},
): (request: Req, reply: FastifyReplyLike) => Promise<void> {
  const required = options.required ?? true;
  const onError = options.onError ?? logRefusal;
  return async function passportHook(request, reply) {
    const result = await authenticate(verifier, request.headers, required);
    if (result.ok) {
      request.passport = result.claims;
      return;
    }
    const { refusal } = result;
    report(onError, result.error, request);
    reply.code(refusal.status);
    for (const [name, value] of Object.entries(refusal.headers)) reply.header(name, value);
    // Send the serialized body (an app-level serializer must not reshape the problem document), and
    // wait until it is written: with async onSend hooks, returning earlier would let the route run.
    await reply.send(JSON.stringify(refusal.body));
  };
}
