import type { GatehouseConfig } from '../config/types.js';
import { bearerMatcher } from '../crypto/bearer-secret.js';
import { GatehouseError } from '../errors/index.js';
import type { LocalHandler } from './local-endpoints.js';

/**
 * How the PUBLIC port serves `/metrics` and the detailed `/readyz`:
 * - `open`: as they are (no admin port, no bearer secret, and the gateway binds a loopback
 *   address: a newcomer's `gatehouse start` on a laptop; nothing is reachable from elsewhere);
 * - `bearer`: only with `Authorization: Bearer <metrics.bearerSecret>` (else /metrics 401 and
 *   /readyz `{status}` only);
 * - `closed`: /metrics 404 and /readyz `{status}` only (an admin port is set, or the gateway
 *   binds a non-loopback address with neither setting: the operator is told at start).
 * The admin listener (`adminPort`) always serves them in full.
 */
export type PublicDetail = 'open' | 'bearer' | 'closed';

/** `localhost`, 127.0.0.0/8 and ::1 (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export function publicDetail(config: GatehouseConfig): PublicDetail {
  if (config.metrics.bearerSecret !== null) return 'bearer';
  if (config.adminPort !== null) return 'closed';
  return isLoopbackHost(config.host) ? 'open' : 'closed';
}

/**
 * The public port's local endpoints under `detail`: `/metrics` and `/readyz` replaced by guarded
 * ones (`full` answers in full, `bare` is the `{status}`-only /readyz). `open` returns `full`.
 */
export function guardPublicDetail(full: Map<string, LocalHandler>, bare: LocalHandler, config: GatehouseConfig): Map<string, LocalHandler> {
  const detail = publicDetail(config);
  if (detail === 'open') return full;
  const allowed = detail === 'bearer' ? bearerMatcher(config.metrics.bearerSecret!) : () => false;
  const metrics = full.get('/metrics')!;
  const readyz = full.get('/readyz')!;
  const guarded = new Map(full);
  guarded.set('/metrics', (req, res) => {
    if (allowed(req)) return metrics(req, res);
    if (detail === 'bearer') {
      throw new GatehouseError('unauthenticated', { detail: 'Send Authorization: Bearer <metrics.bearerSecret>.', headers: { 'www-authenticate': 'Bearer realm="metrics"' } });
    }
    throw new GatehouseError('not_found', { detail: 'Metrics are served on the admin listener (GATEHOUSE_ADMIN_PORT).' });
  });
  guarded.set('/readyz', (req, res) => (allowed(req) ? readyz(req, res) : bare(req, res)));
  return guarded;
}
