import { safeEqual } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import type { CorsPolicy } from './cors.js';
import { DUPLICATE, type Exchange } from './exchange.js';

/** The origins a browser write may come from: the gateway's own, plus the CORS allow-list. */
export interface CsrfOrigins {
  /** The public origin (scheme://host[:port]). */
  readonly own: string;
  readonly cors: CorsPolicy;
}

function csrf(detail: string): GatehouseError {
  return new GatehouseError('csrf', { detail });
}

/**
 * Signs of a request a foreign site made the browser send (Origin, then Fetch Metadata):
 * - `Origin` present: the gateway's own passes; an allow-listed CORS origin passes (it is a
 *   site the operator vouched for, and cookie writes still need the CSRF token); any other
 *   (`null` included, or two Origin headers) is refused, whatever Sec-Fetch-Site says.
 * - no `Origin`: `Sec-Fetch-Site: cross-site` and `same-site` (a sibling subdomain) are
 *   refused; `same-origin`, `none` (typed URL, bookmark) or no header at all pass.
 * - With the own Origin, `Sec-Fetch-Site: cross-site` contradicts it and is refused.
 */
function crossSite(ex: Exchange, o: CsrfOrigins): string | null {
  const origin = ex.origin;
  const site = ex.secFetchSite;
  if (site === DUPLICATE) return 'The request was sent cross-site.';
  if (origin !== undefined) {
    if (origin === o.own) {
      if (site !== undefined && site.toLowerCase() === 'cross-site') return 'The request was sent cross-site.';
      return null;
    }
    if (o.cors.allows(origin)) return null;
    return 'The request comes from another origin.';
  }
  if (site !== undefined) {
    const s = site.toLowerCase();
    if (s === 'cross-site') return 'The request was sent cross-site.';
    if (s === 'same-site') return 'The request was sent from another site of this domain.';
  }
  return null;
}

/** The methods whose cookie-authenticated requests need the CSRF token. */
export function csrfProtects(method: string | undefined): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
}

/**
 * Cookie-authenticated writes (POST/PUT/PATCH/DELETE) need `X-CSRF-Token` equal to the
 * session's token and no sign of a foreign origin. Bearer credentials are exempt: a browser
 * never attaches them by itself.
 */
export function checkCsrf(ex: Exchange, origins: CsrfOrigins): void {
  const identity = ex.identity;
  if (identity === null || identity.auth !== 'session') return;
  if (!csrfProtects(ex.req.method)) return;
  const why = crossSite(ex, origins);
  if (why !== null) throw csrf(why);
  const sent = ex.csrfToken;
  if (sent === undefined || sent === DUPLICATE || identity.csrfToken === undefined || !safeEqual(sent, identity.csrfToken)) {
    throw csrf('Send the X-CSRF-Token header with the token you got at sign-in.');
  }
}

/** Sign-in and sign-up sent cross-site (login CSRF): refused before the auth service sees them. */
export function checkLoginCsrf(ex: Exchange, origins: CsrfOrigins): void {
  const why = crossSite(ex, origins);
  if (why !== null) throw csrf(why);
}
