import type { IncomingMessage, ServerResponse } from 'node:http';
import { issuerOf } from '../config/issuer.js';
import type { Deps } from '../context.js';
import type { GatewayMetrics } from './metrics.js';
import { sendJson } from './respond.js';

export type LocalHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const DISCOVERY_HEADERS = { 'cache-control': 'public, max-age=60', 'access-control-allow-origin': '*' };

/** Longest a /readyz probe waits for the stores (a hung database counts as down). */
const READY_PROBE_MS = 1500;

/** What /readyz needs to know of the gateway itself. */
export interface GatewayState {
  /** Whether the revocation set is warm (bearer credentials and hot copies can be trusted). */
  revocationsReady(): boolean;
  /** Whether the process is stopping: /readyz answers 503 `draining` at once, before any probe. */
  draining?(): boolean;
}

async function probeStores(deps: Deps): Promise<Record<string, boolean>> {
  const down = () => Object.fromEntries(Object.keys(deps.stores.describe).map((k) => [k, false]));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Record<string, boolean>>((resolve) => {
    timer = setTimeout(() => resolve(down()), READY_PROBE_MS);
  });
  try {
    return await Promise.race([deps.stores.ready().catch(down), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GET /readyz: each store, the revocation feed's mode and the hot copy. `ready` when all is
 * well; `degraded` (still 200) while a part is away but the gateway still serves signed-in
 * traffic (DESIGN §4: Redis away, or the database away with the revocation set warm — access
 * tokens and hot sessions go on); `unavailable` (503) when it cannot authenticate anyone.
 */
async function readiness(deps: Deps, state: GatewayState | undefined): Promise<{ code: number; body: Record<string, unknown> }> {
  const stores = await probeStores(deps);
  const feed = deps.feedMode?.() ?? 'in-process';
  const hotCache = deps.hotCache?.status() ?? 'none';
  const allUp = Object.values(stores).every(Boolean) && feed !== 'polling' && hotCache !== 'down';
  const credentialStores = stores.users !== false && stores.sessions !== false;
  const canServe = credentialStores || (state?.revocationsReady() ?? false);
  const status = allUp ? 'ready' : canServe ? 'degraded' : 'unavailable';
  return { code: status === 'unavailable' ? 503 : 200, body: { status, stores, feed, hotCache } };
}

/** Endpoints the gateway answers itself (GET/HEAD): keys, discovery, health, metrics. */
export function localEndpoints(deps: Deps, metrics: GatewayMetrics, state?: GatewayState): Map<string, LocalHandler> {
  const base = (deps.config.publicUrl ?? '').replace(/\/+$/, '');
  const discovery = {
    issuer: issuerOf(deps.config),
    jwks_uri: `${base}/.well-known/jwks.json`,
    token_endpoint: `${base}/auth/token`,
    revocation_endpoint: `${base}/auth/revoke`,
    introspection_endpoint: `${base}/auth/introspect`,
    grant_types_supported: ['password', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
    id_token_signing_alg_values_supported: ['EdDSA'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
  };

  return new Map<string, LocalHandler>([
    ['/.well-known/jwks.json', (req, res) => sendJson(req, res, 200, deps.keyring.jwks(), DISCOVERY_HEADERS)],
    ['/.well-known/openid-configuration', (req, res) => sendJson(req, res, 200, discovery, DISCOVERY_HEADERS)],
    ['/healthz', (req, res) => sendJson(req, res, 200, { status: 'ok' })],
    [
      '/readyz',
      async (req, res) => {
        if (state?.draining?.() === true) {
          sendJson(req, res, 503, { status: 'draining' }, { 'cache-control': 'no-store' });
          return;
        }
        const { code, body } = await readiness(deps, state);
        sendJson(req, res, code, body, { 'cache-control': 'no-store' });
      },
    ],
    [
      '/metrics',
      async (req, res) => {
        const text = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
    ],
  ]);
}
