import type { FastifyInstance } from 'fastify';
import { readiness } from '../../stores/health/readiness.js';
import { mergedMetrics, processMetrics } from '../../util/process-metrics.js';
import { GatehouseError } from '../../errors/index.js';
import { bearerMatcher } from '../../crypto/bearer-secret.js';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';

/**
 * GET /healthz (liveness) and GET /readyz (the database answers: 200, else 503; `stores/health/readiness.ts`) of the auth
 * service itself, for process supervisors and load balancers on the internal network. The
 * gateway never routes these paths here (it answers its own /healthz and /readyz).
 */
export function registerHealth(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.get('/healthz', { config: { lane: PUBLIC_LANE } }, async (_request, reply) => reply.send({ status: 'ok' }));
  // The auth service's counters and the process's, on its internal port (split roles: `gatehouse auth`).
  const metrics = auth.metrics;
  const processRegistry = processMetrics();
  const secret = deps.config.metrics.bearerSecret;
  const allowed = secret === null ? () => true : bearerMatcher(secret);
  app.get('/metrics', { config: { lane: PUBLIC_LANE } }, async (request, reply) => {
    if (!allowed(request.raw)) {
      throw new GatehouseError('unauthenticated', { detail: 'Send Authorization: Bearer <metrics.bearerSecret>.', headers: { 'www-authenticate': 'Bearer realm="metrics"' } });
    }
    const text = await mergedMetrics([metrics.registry, processRegistry]);
    return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  });
  app.get('/readyz', { config: { lane: PUBLIC_LANE } }, async (_request, reply) => {
    // From the background health states: never waits for a store. Sign-in, sign-up and token
    // grants need the database (503 without it); counters fall back per instance.
    const { code, body } = readiness(deps, false);
    return reply.code(code).header('cache-control', 'no-store').send(body);
  });
}
