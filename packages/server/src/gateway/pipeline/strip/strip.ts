import type { CookieNames } from '../../../config/cookie-names.js';
import { CLIENT_IP_HEADER, type ClientIpResolver } from '../../client-ip.js';
import { DUPLICATE, type Exchange } from '../../exchange.js';
import { REVOKED_HEADER } from '../../../auth/revocation-receipt.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request headers the gateway never forwards as sent: hop-by-hop, the client's credentials
 * (`Authorization`, `X-CSRF-Token`), identity the gateway asserts itself (`x-passport`), and
 * forwarding headers it sets itself. `cookie`, `x-forwarded-for` and a few others are read
 * separately below.
 */
const DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  'host',
  'x-passport',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'forwarded',
  'x-real-ip',
  CLIENT_IP_HEADER,
  // The auth service's word to the gateway (revocation-receipt.ts): never from a client.
  REVOKED_HEADER,
  'expect',
  'http2-settings',
]);

/** The configured identity-header list, compiled: exact names and prefixes (`x-user-*`). */
export interface StripRules {
  exact: ReadonlySet<string>;
  prefixes: readonly string[];
}

export function compileStripRules(list: readonly string[]): StripRules {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const raw of list) {
    const name = raw.trim().toLowerCase();
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1));
    else if (name) exact.add(name);
  }
  return { exact, prefixes };
}

function stripped(name: string, rules: StripRules): boolean {
  if (rules.exact.has(name)) return true;
  for (const p of rules.prefixes) if (name.startsWith(p)) return true;
  return false;
}

/** What strip needs besides the identity-header rules; built once per gateway. */
export interface StripOptions {
  /** `x-forwarded-proto`. */
  proto: string;
  /** `x-forwarded-host` when the client sent no Host. */
  defaultHost: string;
  /** The Gatehouse cookie names of this deployment (`__Host-` prefixed on https). */
  cookies: CookieNames;
  clientIp: ClientIpResolver;
}

const GATEHOUSE_COOKIE = /gatehouse_/i;

/** `gatehouse_*`, `__Host-gatehouse_*`, `__Secure-gatehouse_*`, in any case. */
function isGatehouseCookie(name: string): boolean {
  // Most cookies start with neither `g` nor `_`: no lower-case copy for them.
  const c = name.charCodeAt(0);
  if (c !== 103 && c !== 71 && c !== 95) return false;
  const n = name.toLowerCase();
  return n.startsWith('gatehouse_') || n.startsWith('__host-gatehouse_') || n.startsWith('__secure-gatehouse_');
}

/**
 * What String.prototype.trim() removes, in the Latin-1 range header strings have: TAB, LF, VT,
 * FF, CR, space, NBSP. The same set as before this scan replaced split/trim, so a cookie name
 * padded with an odd space is recognised (and removed) exactly as an upstream's trim() sees it.
 */
const isOws = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 160;

/**
 * Removes the gateway's cookies from one Cookie header value and remembers the session cookie.
 * Every Gatehouse cookie is removed, whatever its prefix or case; only the auth service's own
 * routes (`keepDevice`) still get the two device cookies it needs. The session cookie is read
 * by its exact name only (on https `__Host-gatehouse_session`, which no sibling subdomain or
 * http page can plant). Other cookies pass in their order with their values. One scan by
 * index (no split/trim copies): this runs on every cookie request.
 */
function filterCookies(ex: Exchange, value: string, names: CookieNames, keepDevice: boolean): string {
  if (!GATEHOUSE_COOKIE.test(value)) return value;
  let kept = '';
  const len = value.length;
  for (let start = 0; start <= len; ) {
    let end = value.indexOf(';', start);
    if (end < 0) end = len;
    let s = start;
    let e = end;
    start = end + 1;
    while (s < e && isOws(value.charCodeAt(s))) s++;
    while (e > s && isOws(value.charCodeAt(e - 1))) e--;
    if (s === e) continue;
    let eq = value.indexOf('=', s);
    if (eq < 0 || eq > e) eq = e;
    let nameEnd = eq;
    while (nameEnd > s && isOws(value.charCodeAt(nameEnd - 1))) nameEnd--;
    const name = value.slice(s, nameEnd);
    if (isGatehouseCookie(name)) {
      if (name === names.session) {
        let vs = eq + 1;
        while (vs < e && isOws(value.charCodeAt(vs))) vs++;
        const v = eq < e ? value.slice(vs, e) : '';
        // Two different session cookies (cookie tossing): trust neither.
        if (ex.sessionCookie === undefined) ex.sessionCookie = v;
        else if (ex.sessionCookie !== v) ex.sessionCookie = DUPLICATE;
        continue;
      }
      if (!keepDevice || (name !== names.device && name !== names.knownDevice)) continue;
    }
    const piece = value.slice(s, e);
    kept = kept === '' ? piece : `${kept}; ${piece}`;
  }
  return kept;
}

/**
 * Stage 1. One pass over `req.rawHeaders` (so duplicates and any spelling are seen): builds the
 * upstream headers without hop-by-hop headers, headers named in `Connection`, `x-passport`,
 * the configured identity headers, `Authorization`, client-sent forwarding headers and the
 * gateway's cookies; records what later stages need; then sets exactly one
 * `x-gatehouse-client-ip` and `x-forwarded-for/-proto/-host`.
 */
export function strip(ex: Exchange, rules: StripRules, opts: StripOptions): void {
  const raw = ex.req.rawHeaders;
  const out = ex.headers;
  let connection: string | undefined;
  let xff: string | undefined;
  let forwarded: string | undefined;
  const keepDevice = ex.route.authService;
  let cookies: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    switch (name) {
      case 'cookie': {
        const kept = filterCookies(ex, value, opts.cookies, keepDevice);
        if (kept) cookies = cookies ? `${cookies}; ${kept}` : kept;
        continue;
      }
      case 'authorization':
        ex.authorization = ex.authorization === undefined ? value : DUPLICATE;
        continue;
      case 'x-csrf-token':
        ex.csrfToken = ex.csrfToken === undefined ? value : DUPLICATE;
        continue;
      case 'connection':
        connection = connection === undefined ? value : `${connection},${value}`;
        continue;
      case 'transfer-encoding':
        ex.chunked = true;
        continue;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'forwarded':
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
      case 'host':
        host = value;
        continue;
      case 'content-length':
        // The HTTP parser refuses a second Content-Length already; never forward two.
        if (ex.contentLength !== undefined) {
          ex.contentLength = DUPLICATE;
          continue;
        }
        ex.contentLength = value;
        break;
      case 'content-type':
        ex.contentType = value;
        break;
      case 'accept':
        ex.accept = ex.accept === undefined ? value : `${ex.accept}, ${value}`;
        break;
      case 'origin':
        ex.origin = ex.origin === undefined ? value : DUPLICATE;
        break;
      case 'sec-fetch-site':
        ex.secFetchSite = ex.secFetchSite === undefined ? value : DUPLICATE;
        break;
      case 'access-control-request-method':
        ex.preflightMethod = value;
        break;
      default:
        if (DROPPED.has(name) || stripped(name, rules)) continue;
    }
    out.push(name, value);
  }
  // Headers the client named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  if (cookies) out.push('cookie', cookies);
  if (connection !== undefined) removeConnectionNamed(out, connection);
  // Pushed after the Connection pass: a client cannot name these away.
  const client = opts.clientIp.resolve(ex.req.socket.remoteAddress, xff, forwarded);
  ex.clientIp = client.ip;
  out.push(CLIENT_IP_HEADER, client.ip);
  out.push('x-forwarded-for', client.forwardedFor);
  out.push('x-forwarded-proto', opts.proto);
  out.push('x-forwarded-host', host ?? opts.defaultHost);
}

/** `Connection` values that name no other header (what clients and upstreams nearly always send). */
const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'close', 'Keep-Alive', 'Close']);

function removeConnectionNamed(out: string[], connection: string): void {
  if (PLAIN_CONNECTION.has(connection)) return;
  const named = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive') named.add(t);
  }
  if (named.size === 0) return;
  let w = 0;
  for (let r = 0; r < out.length; r += 2) {
    if (named.has(out[r]!)) continue;
    out[w] = out[r]!;
    out[w + 1] = out[r + 1]!;
    w += 2;
  }
  out.length = w;
}

/**
 * Response headers the gateway alone decides for its public origin: CORS (an upstream that
 * reflected any Origin with credentials would undo the allow-list). Hop-by-hop ones go too.
 */
const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  // The auth service's word to the proxying gateway (proxy.ts reads it); never relayed.
  REVOKED_HEADER,
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
]);

/**
 * The upstream's response headers without hop-by-hop ones, any the upstream named in its
 * `Connection`, and CORS headers (names are lower-case here), as a flat `[name, value, ...]`
 * list for `writeHead`: a copy rather than `delete` in place (which turns undici's object into a
 * slow dictionary every later step pays for), and a list rather than an object, which Node
 * walks without an own-property check per key.
 */
export function relayedResponseHeaders(headers: Record<string, string | string[] | undefined>): (string | string[])[] {
  let named: Set<string> | undefined;
  const connection = headers.connection;
  if (connection !== undefined && (typeof connection !== 'string' || !PLAIN_CONNECTION.has(connection))) {
    for (const token of String(connection).split(',')) {
      const t = token.trim().toLowerCase();
      if (t && !RESPONSE_DROPPED.has(t)) (named ??= new Set()).add(t);
    }
  }
  const out: (string | string[])[] = [];
  for (const h in headers) {
    const v = headers[h];
    if (v === undefined || RESPONSE_DROPPED.has(h) || (named !== undefined && named.has(h))) continue;
    out.push(h, v);
  }
  return out;
}
