import { safeEqual } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import { DUPLICATE, type Exchange } from './exchange.js';

function csrf(detail: string): GatehouseError {
  return new GatehouseError('csrf', { detail });
}

function crossSite(ex: Exchange, origin: string): string | null {
  if (ex.origin !== undefined && ex.origin !== origin) return 'The request comes from another origin.';
  if (ex.secFetchSite !== undefined && (ex.secFetchSite === DUPLICATE || ex.secFetchSite.toLowerCase() === 'cross-site')) {
    return 'The request was sent cross-site.';
  }
  return null;
}

/**
 * Cookie-authenticated writes (POST/PUT/PATCH/DELETE) need `X-CSRF-Token` equal to the
 * session's token and no sign of a foreign origin. Bearer credentials are exempt: a browser
 * never attaches them by itself.
 */
export function checkCsrf(ex: Exchange, origin: string): void {
  const identity = ex.identity;
  if (identity === null || identity.auth !== 'session') return;
  const m = ex.req.method;
  if (m !== 'POST' && m !== 'PUT' && m !== 'PATCH' && m !== 'DELETE') return;
  const why = crossSite(ex, origin);
  if (why !== null) throw csrf(why);
  const sent = ex.csrfToken;
  if (sent === undefined || sent === DUPLICATE || identity.csrfToken === undefined || !safeEqual(sent, identity.csrfToken)) {
    throw csrf('Send the X-CSRF-Token header with the token you got at sign-in.');
  }
}

/** Sign-in and sign-up sent cross-site (login CSRF): refused before the auth service sees them. */
export function checkLoginCsrf(ex: Exchange, origin: string): void {
  const why = crossSite(ex, origin);
  if (why !== null) throw csrf(why);
}
