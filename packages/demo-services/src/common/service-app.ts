import { createPassportVerifier } from '@gatehouse/sdk';
import type { PassportClaims } from '@gatehouse/sdk';
// The Fastify entry point also types `request.passport` (always set on routes: the hook refuses
// requests without one).
import { fastifyPassport } from '@gatehouse/sdk/fastify';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RunningService, ServiceOptions } from '../service-options.js';
import { problemFor, ServiceError } from './problem.js';

export const BODY_LIMIT = 64 * 1024;

/**
 * A Fastify app for one demo service: strict JSON bodies, problem+json errors without internals,
 * and every request (unknown routes included) refused unless it carries a valid passport for
 * `audience`.
 */
export function createServiceApp(audience: string, options: ServiceOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger === false ? false : { level: 'warn' },
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  app.removeContentTypeParser('text/plain');

  const verifier = createPassportVerifier({ ...options.verifier, audience });
  app.decorateRequest('passport', null);
  app.addHook('onRequest', fastifyPassport(verifier));
  app.addHook('onSend', async (_request, reply, payload) => {
    // Answers carry one user's data: never store them in a shared cache.
    reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err, request, reply) => {
    const body = problemFor(err);
    // A full disk or a locked database is an outage, not a bug: a warning without a stack.
    if (body.code === 'unavailable') request.log.warn({ code: (err as { code?: unknown }).code, reason: body.detail }, 'request refused: the database cannot answer');
    else if (body.status >= 500) request.log.error({ err }, 'request failed');
    return reply.code(body.status).type('application/problem+json').send(JSON.stringify(body));
  });
  app.setNotFoundHandler(async () => {
    throw new ServiceError('not_found');
  });
  return app;
}

/** The passport of a request that passed the hook. */
export function passportOf(request: FastifyRequest): PassportClaims {
  if (request.passport === null) throw new ServiceError('forbidden');
  return request.passport;
}

export async function listen(app: FastifyInstance, options: ServiceOptions, onClose?: () => Promise<void>): Promise<RunningService> {
  try {
    const url = await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
    return {
      url,
      close: async () => {
        await app.close();
        await onClose?.();
      },
    };
  } catch (err) {
    await app.close().catch(() => undefined);
    await onClose?.();
    throw err;
  }
}
