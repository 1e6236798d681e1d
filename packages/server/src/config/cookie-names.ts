import { isHttps } from './issuer.js';
import type { GatehouseConfig } from './types.js';

/** The names of Gatehouse's cookies for one deployment. */
export interface CookieNames {
  /** The session secret (HttpOnly, Path=/). */
  readonly session: string;
  /** The CSRF token (readable by the page script, Path=/). */
  readonly csrf: string;
  /** The browser's device id (HttpOnly, Path=/). */
  readonly device: string;
  /** The signed "signed in here before" cookie (HttpOnly, Path=/auth). */
  readonly knownDevice: string;
  /** The sealed transaction of a sign-in with an external provider (HttpOnly, Path=/, 10 min; auth/federation/transaction.ts). */
  readonly federation: string;
}

const HTTPS_NAMES: CookieNames = {
  session: '__Host-gatehouse_session',
  csrf: '__Host-gatehouse_csrf',
  device: '__Host-gatehouse_device',
  // `__Host-` needs Path=/; this cookie is scoped to /auth, so it gets the `__Secure-` prefix.
  knownDevice: '__Secure-gatehouse_known_device',
  // `__Host-`: a cookie planted by a sibling subdomain would be login CSRF (the attacker's sign-in completing in the victim's browser).
  federation: '__Host-gatehouse_federation',
};

const HTTP_NAMES: CookieNames = {
  session: 'gatehouse_session',
  csrf: 'gatehouse_csrf',
  device: 'gatehouse_device',
  knownDevice: 'gatehouse_known_device',
  federation: 'gatehouse_federation',
};

/**
 * Cookie names by the public URL's scheme. On https the browser itself then guarantees the
 * cookies were set by this host over a secure channel with Secure and (for `__Host-`) Path=/
 * and no Domain, so a sibling subdomain or a plain-http page cannot plant ("toss") them.
 * Prefixed cookies need Secure, so plain http keeps the bare names.
 */
export function cookieNames(config: GatehouseConfig): CookieNames {
  return isHttps(config) ? HTTPS_NAMES : HTTP_NAMES;
}
