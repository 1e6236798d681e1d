import type { FastifyInstance } from 'fastify';
import type { EndpointContext } from '../endpoint-context.js';
import { PUBLIC_LANE } from '../lanes.js';

/**
 * GET /healthz (liveness) and GET /readyz (every store answers: 200, else 503) of the auth
 * service itself, for process supervisors and load balancers on the internal network. The
 * gateway never routes these paths here (it answers its own /healthz and /readyz).
 */
export function registerHealth(app: FastifyInstance, { deps }: EndpointContext): void {
  app.get('/healthz', { config: { lane: PUBLIC_LANE } }, async (_request, reply) => reply.send({ status: 'ok' }));
  app.get('/readyz', { config: { lane: PUBLIC_LANE } }, async (_request, reply) => {
    let stores: Record<string, boolean>;
    try {
      stores = await deps.stores.ready();
    } catch {
      stores = Object.fromEntries(Object.keys(deps.stores.describe).map((k) => [k, false]));
    }
    // Sign-in, sign-up and token grants need users and sessions; counters fall back per instance.
    const ok = stores.users !== false && stores.sessions !== false;
    return reply.code(ok ? 200 : 503).send({ status: ok ? (Object.values(stores).every(Boolean) ? 'ready' : 'degraded') : 'unavailable', stores, feed: deps.feedMode?.() ?? 'in-process' });
  });
}
