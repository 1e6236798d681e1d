import { splitHost } from '../../../config/allowed-hosts.js';
import { publicOriginOf } from '../../../config/issuer.js';
import type { GatehouseConfig } from '../../../config/types.js';
import { safeEqual } from '../../../crypto/secrets.js';
import { GatehouseError } from '../../../errors/index.js';
import type { CorsPolicy } from '../../cors.js';
import { DUPLICATE, type Exchange } from '../../exchange.js';
import { csrfProtects } from '../../../credentials/csrf.js';

/** The origins a browser write may come from: the gateway's own, plus the CORS allow-list. */
export interface CsrfOrigins {
  /** The public origin (scheme://host[:port]). */
  readonly own: string;
  /**
   * Other origins that are this gateway too: the loopback names of a loopback public URL on its
   * port (`http://localhost:8080` when the public URL is `http://127.0.0.1:8080`), and the
   * `gateway.allowedHosts` names, with the public URL's scheme (an http page of an https
   * gateway is someone else's). Empty when none.
   */
  readonly aliases?: ReadonlySet<string>;
  readonly cors: CorsPolicy;
}

/** Loopback names: each names the same machine, so the same port is the same gateway. */
const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The origins of this gateway (issue 12: `localhost` is not `127.0.0.1`). With no public URL
 * `start` uses `http://127.0.0.1:<port>`, but people type `http://localhost:<port>`: a page
 * served there sends `Origin: http://localhost:<port>`, which is this same gateway (only it
 * listens on that port of this machine; cookies are host-only, so each name keeps its own).
 * Another port on localhost is another program and stays foreign.
 */
export function csrfOrigins(config: GatehouseConfig, cors: CorsPolicy): CsrfOrigins {
  const own = publicOriginOf(config);
  const url = new URL(own);
  const aliases = new Set<string>();
  if (LOOPBACK.includes(url.hostname)) {
    const port = url.port === '' ? '' : `:${url.port}`;
    for (const name of LOOPBACK) aliases.add(`${url.protocol}//${name}${port}`);
  }
  for (const entry of config.gateway.allowedHosts) {
    const h = entry.trim().toLowerCase();
    if (h === '*' || splitHost(h) === undefined) continue;
    try {
      aliases.add(new URL(`${url.protocol}//${h}`).origin);
    } catch {
      // not a host name: load-config refuses it already
    }
  }
  aliases.delete(own);
  return { own, aliases, cors };
}

/** A `csrf` refusal, with what the operator needs in the log: the Origin that came and the one expected. */
export class CsrfRefusal extends GatehouseError {
  constructor(
    detail: string,
    /** The `Origin` header as sent (cut to 200 characters), or undefined when none came. */
    readonly origin: string | undefined,
    /** This gateway's own origin. */
    readonly expected: string,
    /** Why, in a word: `origin`, `fetch-metadata` or `token`. */
    readonly reason: 'origin' | 'fetch-metadata' | 'token',
  ) {
    super('csrf', { detail });
    this.name = 'CsrfRefusal';
  }
}

function logged(origin: string | typeof DUPLICATE | undefined): string | undefined {
  if (origin === undefined) return undefined;
  if (origin === DUPLICATE) return '(several Origin headers)';
  return origin.length > 200 ? `${origin.slice(0, 200)}...` : origin;
}

const FOREIGN = 'The request comes from another origin.';

function refuse(ex: Exchange, o: CsrfOrigins, why: string): CsrfRefusal {
  const origin = ex.origin;
  const foreign = origin !== undefined && why === FOREIGN;
  const detail = foreign
    ? `This page was opened at another address than this server's own (${o.own}). Open ${o.own} and try again; to use another address, set GATEHOUSE_PUBLIC_URL (or gateway.allowedHosts) to it.`
    : why;
  return new CsrfRefusal(detail, logged(origin), o.own, foreign ? 'origin' : 'fetch-metadata');
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
    if (origin === o.own || (o.aliases !== undefined && o.aliases.has(origin))) {
      if (site !== undefined && site.toLowerCase() === 'cross-site') return 'The request was sent cross-site.';
      return null;
    }
    if (o.cors.allows(origin)) return null;
    return FOREIGN;
  }
  if (site !== undefined) {
    const s = site.toLowerCase();
    if (s === 'cross-site') return 'The request was sent cross-site.';
    if (s === 'same-site') return 'The request was sent from another site of this domain.';
  }
  return null;
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
  if (why !== null) throw refuse(ex, origins, why);
  const sent = ex.csrfToken;
  if (sent === undefined || sent === DUPLICATE || identity.csrfToken === undefined || !safeEqual(sent, identity.csrfToken)) {
    throw new CsrfRefusal('Send the X-CSRF-Token header with the token you got at sign-in (a page: reload it).', logged(ex.origin), origins.own, 'token');
  }
}

/**
 * A WebSocket upgrade authenticated by the session cookie (any method check aside: it is a GET
 * the browser sends with the cookie from any page): refused unless its `Origin` is the
 * gateway's own or allow-listed (cross-site WebSocket hijacking). Browsers always send `Origin`
 * on WebSocket handshakes; a client that sends none (not a browser) passes as with writes.
 */
export function checkUpgradeOrigin(ex: Exchange, origins: CsrfOrigins): void {
  if (ex.identity === null || ex.identity.auth !== 'session') return;
  const why = crossSite(ex, origins);
  if (why !== null) throw refuse(ex, origins, why);
}

/** Sign-in and sign-up sent cross-site (login CSRF): refused before the auth service sees them. */
export function checkLoginCsrf(ex: Exchange, origins: CsrfOrigins): void {
  const why = crossSite(ex, origins);
  if (why !== null) throw refuse(ex, origins, why);
}
