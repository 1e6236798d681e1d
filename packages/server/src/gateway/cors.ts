import type { GatehouseConfig } from '../config/types.js';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOW_HEADERS = 'content-type, authorization, x-csrf-token';
const EXPOSE_HEADERS = 'retry-after, www-authenticate';

/**
 * CORS for routed paths, compiled once from `cors.*`. Off by default (no origin listed: no
 * CORS header is ever sent). Only exact allow-listed origins get `Access-Control-Allow-Origin`,
 * always their own origin, never `*` and never a reflected foreign or `null` origin. The gateway
 * owns CORS: upstream services' own `Access-Control-*` response headers are dropped.
 */
export class CorsPolicy {
  /** Whether any origin is allowed (else the gateway adds no CORS header at all). */
  readonly enabled: boolean;
  private readonly actual = new Map<string, Readonly<Record<string, string>>>();
  private readonly preflight = new Map<string, Readonly<Record<string, string | number>>>();

  constructor(config: GatehouseConfig) {
    const { origins, allowCredentials, maxAgeSec } = config.cors;
    this.enabled = origins.length > 0;
    for (const origin of origins) {
      const credentials: Record<string, string> = allowCredentials ? { 'access-control-allow-credentials': 'true' } : {};
      this.actual.set(origin, { 'access-control-allow-origin': origin, ...credentials, 'access-control-expose-headers': EXPOSE_HEADERS });
      this.preflight.set(origin, {
        'access-control-allow-origin': origin,
        ...credentials,
        'access-control-allow-methods': ALLOW_METHODS,
        'access-control-allow-headers': ALLOW_HEADERS,
        'access-control-max-age': String(maxAgeSec),
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
        'content-length': 0,
      });
    }
  }

  /** Whether this exact origin is allow-listed (a duplicate or `null` Origin never is). */
  allows(origin: string | undefined): boolean {
    return origin !== undefined && this.actual.has(origin);
  }

  /** Headers of an actual (non-preflight) answer to this origin; undefined when it is not allowed. */
  actualHeaders(origin: string | undefined): Readonly<Record<string, string>> | undefined {
    return origin === undefined ? undefined : this.actual.get(origin);
  }

  /** Headers of a 204 preflight answer to this origin; undefined when it is not allowed. */
  preflightHeaders(origin: string | undefined): Readonly<Record<string, string | number>> | undefined {
    return origin === undefined ? undefined : this.preflight.get(origin);
  }
}
