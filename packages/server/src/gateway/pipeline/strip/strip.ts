import type { CookieNames } from '../../../config/cookie-names.js';
import { GatehouseError } from '../../../errors/index.js';
import { CLIENT_IP_HEADER } from '../../../credentials/client-ip.js';
import type { ClientIpResolver } from '../../client-ip.js';
import { DUPLICATE, type Exchange } from '../../exchange.js';
import { REVOKED_HEADER } from '../../../credentials/revocation.js';
import type { HostPolicy } from '../../host-policy.js';
import { GATEHOUSE_COOKIE, HOP_BY_HOP, PLAIN_CONNECTION, stripped, type StripRules } from '../headers.js';

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

/** What strip needs besides the identity-header rules; built once per gateway. */
export interface StripOptions {
  /** `x-forwarded-proto`: the public URL's scheme (a trusted proxy's own value wins). */
  proto: string;
  /** `x-forwarded-host`: the public URL's host (a trusted proxy's own value wins). */
  defaultHost: string;
  /** Which Host a request may name (`gateway.allowedHosts`); absent: any. */
  hosts?: HostPolicy;
  /** The Gatehouse cookie names of this deployment (`__Host-` prefixed on https). */
  cookies: CookieNames;
  clientIp: ClientIpResolver;
}

/** `gatehouse_*`, `__Host-gatehouse_*`, `__Secure-gatehouse_*`, in any case. */
function isGatehouseCookie(name: string): boolean {
  // Most cookies start with neither `g` nor `_`: no lower-case copy for them.
  const c = name.charCodeAt(0);
  if (c !== 103 && c !== 71 && c !== 95) return false;
  const n = name.toLowerCase();
  return n.startsWith('gatehouse_') || n.startsWith('__host-gatehouse_') || n.startsWith('__secure-gatehouse_');
}

/**
 * Whether the cookie name `value[s, e)` is a Gatehouse cookie (isGatehouseCookie), read in
 * place: the spellings Gatehouse sets (`gatehouse_…`, `__Host-gatehouse_…`) are recognised without
 * copying the name; any other that could be one (first character `g`, `G` or `_`) is copied and
 * lower-cased as before.
 */
function isGatehouseCookieAt(value: string, s: number, e: number): boolean {
  const c = value.charCodeAt(s);
  if (c !== 103 && c !== 71 && c !== 95) return false;
  if (e - s >= 10 && value.startsWith('gatehouse_', s)) return true;
  if (e - s >= 17 && value.startsWith('__Host-gatehouse_', s)) return true;
  return isGatehouseCookie(value.slice(s, e));
}

/** Whether the cookie name `value[s, e)` is exactly `name` (no copy). */
function isNameAt(value: string, s: number, e: number, name: string): boolean {
  return e - s === name.length && value.startsWith(name, s);
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
 * routes (`keepDevice`) still get the two device cookies and the federation transaction cookie it needs. The session cookie is read
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
    if (isGatehouseCookieAt(value, s, nameEnd)) {
      if (isNameAt(value, s, nameEnd, names.session)) {
        let vs = eq + 1;
        while (vs < e && isOws(value.charCodeAt(vs))) vs++;
        const v = eq < e ? value.slice(vs, e) : '';
        // Two different session cookies (cookie tossing): trust neither.
        if (ex.sessionCookie === undefined) ex.sessionCookie = v;
        else if (ex.sessionCookie !== v) ex.sessionCookie = DUPLICATE;
        continue;
      }
      if (!keepDevice || !(isNameAt(value, s, nameEnd, names.device) || isNameAt(value, s, nameEnd, names.knownDevice) || isNameAt(value, s, nameEnd, names.federation))) continue;
    }
    const piece = value.slice(s, e);
    kept = kept === '' ? piece : `${kept}; ${piece}`;
  }
  return kept;
}

/**
 * Strip. One pass over `req.rawHeaders` (so duplicates and any spelling are seen): builds the
 * upstream headers without hop-by-hop headers, headers named in `Connection`, `x-passport`,
 * the configured identity headers, `Authorization`, client-sent forwarding headers and the
 * gateway's cookies; records what later stages need; then sets exactly one
 * `x-gatehouse-client-ip` and `x-forwarded-for/-proto/-host` (and a trusted proxy's
 * `x-forwarded-port`). Throws 400 for two Host headers or a `Connection` that names a header
 * the gateway checks, 421 for a Host the gateway does not serve.
 */
/** The one route whose `Authorization: Basic` is forwarded (client authentication at the token endpoint). */
const TOKEN_ENDPOINT = '/auth/token';

export function strip(ex: Exchange, rules: StripRules, opts: StripOptions): void {
  const raw = ex.req.rawHeaders;
  const out = ex.headers;
  let connection: string | undefined;
  let xff: string | undefined;
  let forwarded: string | undefined;
  const keepDevice = ex.route.authService;
  let cookies: string | undefined;
  let host: string | undefined;
  let fwdHost: string | undefined;
  let fwdProto: string | undefined;
  let fwdPort: string | undefined;
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
        // RFC 9112 §3.2: exactly one Host. Node's parser lets a second one through, and which
        // of the two names the target would be anyone's guess.
        if (host !== undefined) throw new GatehouseError('invalid_request', { detail: 'The request has more than one Host header.' });
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
        if (DROPPED.has(name)) {
          // A client's forwarding values never pass; a trusted proxy's are kept aside (below).
          if (name === 'x-forwarded-host') fwdHost = fwdHost === undefined ? value : `${fwdHost},${value}`;
          else if (name === 'x-forwarded-proto') fwdProto = fwdProto === undefined ? value : `${fwdProto},${value}`;
          else if (name === 'x-forwarded-port') fwdPort = fwdPort === undefined ? value : `${fwdPort},${value}`;
          continue;
        }
        if (stripped(name, rules)) continue;
    }
    out.push(name, value);
  }
  // The token endpoint authenticates OAuth clients with HTTP Basic (client_secret_basic, RFC 6749
  // §2.3.1): only there, and only a single Basic header, reaches the auth service.
  if (ex.route.authService && ex.route.prefix === TOKEN_ENDPOINT && typeof ex.authorization === 'string' && /^basic /i.test(ex.authorization)) {
    out.push('authorization', ex.authorization);
  }
  // Headers the client named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  if (cookies) out.push('cookie', cookies);
  if (connection !== undefined) removeConnectionNamed(out, connection);
  // Pushed after the Connection pass: a client cannot name these away.
  const peer = ex.req.socket.remoteAddress;
  const client = opts.clientIp.resolve(peer, xff, forwarded);
  ex.clientIp = client.ip;
  out.push(CLIENT_IP_HEADER, client.ip);
  out.push('x-forwarded-for', client.forwardedFor);
  // The gateway's own values, unless a trusted proxy says where the client came in. The port is
  // in the host when it is not the scheme's default; X-Forwarded-Port goes only where a trusted
  // proxy sent one (one header less on every request otherwise).
  let checkedHost = host;
  let proto = opts.proto;
  let fHost = opts.defaultHost;
  let port: string | undefined;
  if ((fwdHost !== undefined || fwdProto !== undefined || fwdPort !== undefined) && opts.clientIp.trustsPeer(peer)) {
    const h = lastElement(fwdHost);
    if (h !== '') checkedHost = fHost = h;
    const p = lastElement(fwdProto).toLowerCase();
    if (p === 'http' || p === 'https') proto = p;
    const n = lastElement(fwdPort);
    if (/^[0-9]{1,5}$/.test(n)) port = n;
  }
  if (checkedHost !== undefined && opts.hosts !== undefined && !opts.hosts.allows(checkedHost)) {
    throw new GatehouseError('misdirected_request', { detail: 'This gateway does not serve that host; use its public URL.' });
  }
  out.push('x-forwarded-proto', proto);
  out.push('x-forwarded-host', fHost);
  if (port !== undefined) out.push('x-forwarded-port', port);
}

/** The last comma-separated element of a forwarding header, trimmed ('' when none): the one the nearest (trusted) proxy wrote. */
function lastElement(value: string | undefined): string {
  if (value === undefined) return '';
  return value.slice(value.lastIndexOf(',') + 1).trim();
}

/**
 * Headers the gateway checks and forwards as checked: a client's `Connection` may not nominate
 * them for removal (the upstream would see something other than what passed the checks, e.g.
 * a body without the Content-Type that passed the 415 check). The headers the gateway adds
 * itself are pushed after the Connection pass and cannot be named away at all.
 */
const CHECKED: ReadonlySet<string> = new Set(['host', 'content-type', 'content-length', 'transfer-encoding', 'authorization', 'cookie', 'origin', 'sec-fetch-site']);

function removeConnectionNamed(out: string[], connection: string): void {
  if (PLAIN_CONNECTION.has(connection)) return;
  const named = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (CHECKED.has(t)) throw new GatehouseError('invalid_request', { detail: `The Connection header must not name ${t}.` });
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
