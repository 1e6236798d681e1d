import type { Deps } from '../context.js';
import type { AuthContext } from './auth-context.js';
import type { FederationProviders } from './federation/providers/registry.js';
import type { PassportHook } from './passport.js';

/** What every endpoint registration receives. */
export interface EndpointContext {
  deps: Deps;
  /** The service's auth state (the one password hasher, metrics, background audit): `auth.deps` is `deps`. */
  auth: AuthContext;
  /**
   * Verifies `x-passport`. Endpoints do not use it themselves: they declare `config.lane` and
   * `installLanes` (lanes.ts) runs it, then the lane check, before every non-public route.
   */
  authenticate: PassportHook;
  /** The configured identity providers (`federation.providers`), built once at the service's start. */
  federation: FederationProviders;
}

/** The client address (see `client-ip.ts`: the gateway's `x-gatehouse-client-ip`, never `X-Forwarded-For`). */
export { clientIp } from './client-ip.js';

/** ISO 8601 for times in response bodies. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `iso`, or null for a time that is not set (a last use, an expiry). */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
