import type { IncomingMessage, ServerResponse } from 'node:http';
import { existingAuthMetrics } from '../auth/auth-metrics.js';
import { issuerOf } from '../config/issuer.js';
import type { Deps } from '../context.js';
import { DEVICE_AUTHORIZATION_PATH, TOKEN_ENDPOINT_AUTH_METHODS, TOKEN_GRANT_TYPES } from '../credentials/token-endpoint-metadata.js';
import { readiness } from '../stores/health/readiness.js';
import { mergedMetrics, processMetrics } from '../util/process-metrics.js';
import type { GatewayMetrics } from './metrics.js';
import { sendJson } from './pipeline/respond/respond.js';

export type LocalHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const DISCOVERY_HEADERS = { 'cache-control': 'public, max-age=60', 'access-control-allow-origin': '*' };

/** What /readyz needs to know of the gateway itself. */
export interface GatewayState {
  /** Whether the revocation set is warm (bearer credentials and hot copies can be trusted). */
  revocationsReady(): boolean;
  /** Whether the process is stopping: /readyz answers 503 `draining` at once, before any probe. */
  draining?(): boolean;
  /** /readyz answers `{status}` only (the public port when metrics are kept off it: admin-access.ts). */
  bareReadyz?: boolean;
}

/** Endpoints the gateway answers itself (GET/HEAD): keys, discovery, health, metrics. */
export function localEndpoints(deps: Deps, metrics: GatewayMetrics, state?: GatewayState): Map<string, LocalHandler> {
  const base = (deps.config.publicUrl ?? '').replace(/\/+$/, '');
  // Started now, not at the first scrape, so GC and event-loop lag are observed from the start.
  const processRegistry = processMetrics();
  // With --workers N, /metrics answers for every process (start/cluster-ipc.ts).
  const hub = deps.metricsHub;
  hub?.add(metrics.registry);
  hub?.add(processRegistry);
  const discovery = {
    issuer: issuerOf(deps.config),
    jwks_uri: `${base}/.well-known/jwks.json`,
    token_endpoint: `${base}/auth/token`,
    revocation_endpoint: `${base}/auth/revoke`,
    introspection_endpoint: `${base}/auth/introspect`,
    device_authorization_endpoint: `${base}${DEVICE_AUTHORIZATION_PATH}`,
    grant_types_supported: [...TOKEN_GRANT_TYPES],
    token_endpoint_auth_methods_supported: [...TOKEN_ENDPOINT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: ['none'],
    id_token_signing_alg_values_supported: ['EdDSA'],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
  };

  return new Map<string, LocalHandler>([
    ['/.well-known/jwks.json', (req, res) => sendJson(req, res, 200, deps.keyring.jwks(), DISCOVERY_HEADERS)],
    ['/.well-known/openid-configuration', (req, res) => sendJson(req, res, 200, discovery, DISCOVERY_HEADERS)],
    // RFC 8414: the same metadata (both name the same endpoints, grants and auth methods).
    ['/.well-known/oauth-authorization-server', (req, res) => sendJson(req, res, 200, discovery, DISCOVERY_HEADERS)],
    ['/healthz', (req, res) => sendJson(req, res, 200, { status: 'ok' })],
    [
      '/readyz',
      (req, res) => {
        if (state?.draining?.() === true) {
          sendJson(req, res, 503, { status: 'draining' }, { 'cache-control': 'no-store' });
          return;
        }
        // From the background health states (stores/health): never waits for a store. Still 200
        // while the database is away if the revocation set is warm (DESIGN §4: access tokens
        // and hot sessions go on); 503 when it can authenticate no one.
        const { code, body } = readiness(deps, state?.revocationsReady() ?? false);
        sendJson(req, res, code, state?.bareReadyz === true ? { status: body.status } : body, { 'cache-control': 'no-store' });
      },
    ],
    [
      '/metrics',
      async (req, res) => {
        // The gateway's, the process's and, in one process with the auth service (gatehouse start), the auth service's;
        // with --workers N, those of every process, aggregated.
        const auth = existingAuthMetrics(deps);
        const text = hub !== undefined ? await hub.text() : await mergedMetrics([metrics.registry, processRegistry, ...(auth ? [auth.registry] : [])]);
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
    ],
  ]);
}
