import type { CookieNames } from '../../../config/cookie-names.js';
import { GatehouseError } from '../../../errors/index.js';
import { CLIENT_IP_HEADER } from '../../../credentials/client-ip.js';
import type { ClientIpResolver } from '../../client-ip.js';
import { DUPLICATE, type Exchange } from '../../exchange.js';
import { REVOKED_HEADER } from '../../../credentials/revocation.js';
import type { HostPolicy } from '../../host-policy.js';

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
  /**
   * 1 at each character code an identity header (`x-passport` or a listed name or prefix) can
   * start with: one lookup rules out most response header names (`content-type`, `date`…).
   */
  firstChars: Uint8Array;
  /** Response header names already classified (identity header or not), for the first 256 seen. */
  known: Map<string, boolean>;
}

export function compileStripRules(list: readonly string[]): StripRules {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const firstChars = new Uint8Array(128);
  firstChars['x'.charCodeAt(0)] = 1;
  for (const raw of list) {
    const name = raw.trim().toLowerCase();
    if (name.endsWith('*')) prefixes.push(name.slice(0, -1));
    else if (name) exact.add(name);
    // A bare `*` (prefix '') names every header.
    if (name === '*') firstChars.fill(1);
    else if (name && name.charCodeAt(0) < 128) firstChars[name.charCodeAt(0)] = 1;
  }
  return { exact, prefixes, firstChars, known: new Map() };
}

function stripped(name: string, rules: StripRules): boolean {
  if (rules.exact.has(name)) return true;
  for (const p of rules.prefixes) if (name.startsWith(p)) return true;
  return false;
}

/** `x-passport` or a configured identity header, remembered per name (answers repeat the same few names). */
function identityHeader(name: string, rules: StripRules): boolean {
  let r = rules.known.get(name);
  if (r === undefined) {
    r = name === 'x-passport' || stripped(name, rules);
    // Bounded: an upstream inventing names cannot grow it.
    if (rules.known.size < 256) rules.known.set(name, r);
  }
  return r;
}

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
 * `x-gatehouse-client-ip` and `x-forwarded-for/-proto/-host` (and a trusted proxy's
 * `x-forwarded-port`). Throws 400 for two Host headers or a `Connection` that names a header
 * the gateway checks, 421 for a Host the gateway does not serve.
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

/** `Connection` values that name no other header (what clients and upstreams nearly always send). */
const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'close', 'Keep-Alive', 'Close']);

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

/** Why a response header was dropped (metric label): a Gatehouse cookie set by a service, or an identity header. */
export type DroppedResponseHeader = 'set_cookie' | 'identity_header';

/**
 * Where relayedResponseHeaders reports what it dropped: the kind and the header or cookie name
 * (never a value). Called only when something is dropped; an object (the proxy call itself), so
 * no closure is made per answer.
 */
export interface ResponseDropListener {
  headerDropped(kind: DroppedResponseHeader, name: string): void;
}

/**
 * The upstream's response headers without hop-by-hop ones, any the upstream named in its
 * `Connection`, CORS headers, identity headers (`x-passport` and `gateway.stripHeaders`) and,
 * unless `keepGatehouseCookies` (the auth service's own routes), every `Set-Cookie` that names a
 * Gatehouse cookie (DESIGN §6: upstream answers never set or clear Gatehouse cookies nor carry
 * identity headers to clients). Names are lower-case here. Returns a flat `[name, value, ...]`
 * list for `writeHead`: a copy rather than `delete` in place (which turns undici's object into a
 * slow dictionary every later step pays for), and a list rather than an object, which Node
 * walks without an own-property check per key. Per header the identity check is one table
 * lookup unless the name starts like one; Set-Cookie values are looked at only when one comes.
 */
export function relayedResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  rules: StripRules,
  keepGatehouseCookies: boolean,
  onDrop: ResponseDropListener,
): (string | string[])[] {
  let named: Set<string> | undefined;
  const connection = headers.connection;
  if (connection !== undefined && (typeof connection !== 'string' || !PLAIN_CONNECTION.has(connection))) {
    for (const token of String(connection).split(',')) {
      const t = token.trim().toLowerCase();
      if (t && !RESPONSE_DROPPED.has(t)) (named ??= new Set()).add(t);
    }
  }
  const first = rules.firstChars;
  const out: (string | string[])[] = [];
  for (const h in headers) {
    let v = headers[h];
    if (v === undefined || RESPONSE_DROPPED.has(h) || (named !== undefined && named.has(h))) continue;
    const c = h.charCodeAt(0);
    if (c < 128 && first[c] === 1 && identityHeader(h, rules)) {
      onDrop.headerDropped('identity_header', h);
      continue;
    }
    // Object keys are internalized strings: this compare is a pointer check, cheaper than looking
    // `set-cookie` up in undici's object of varying shape up front.
    if (h === 'set-cookie' && !keepGatehouseCookies) {
      v = withoutGatehouseCookies(v, onDrop);
      if (v === undefined) continue;
    }
    out.push(h, v);
  }
  return out;
}

/**
 * The cookie name a browser stores for one Set-Cookie value, for the Gatehouse check: the text
 * before the first `=` of the name-value pair, trimmed. Without `=`, or with an empty name, the
 * browser stores a nameless cookie and sends its value bare (`Cookie: gatehouse_session=x` from
 * `Set-Cookie: =gatehouse_session=x`), so then the whole pair counts.
 */
function setCookieName(value: string): string {
  let end = value.indexOf(';');
  if (end < 0) end = value.length;
  const eq = value.indexOf('=');
  const name = eq < 0 || eq > end ? '' : value.slice(0, eq).trim();
  return name === '' ? value.slice(0, end).trim() : name;
}

/** Set-Cookie names containing `gatehouse_` in any case: every prefix (`__Host-`, `__Secure-`, others) and spelling. */
function setsGatehouseCookie(value: string, onDrop: ResponseDropListener): boolean {
  // Most values never mention it: one regex test, no parsing.
  if (!GATEHOUSE_COOKIE.test(value)) return false;
  const name = setCookieName(value);
  if (!GATEHOUSE_COOKIE.test(name)) return false;
  // Reported without any value: a nameless cookie's pair is cut at its own `=`.
  let shown = name.replace(/^[\s=]+/, '');
  const eq = shown.indexOf('=');
  if (eq >= 0) shown = shown.slice(0, eq).trim();
  onDrop.headerDropped('set_cookie', shown.length > 64 ? `${shown.slice(0, 64)}…` : shown);
  return true;
}

/** The Set-Cookie value(s) without those naming a Gatehouse cookie (the same value when none does); undefined when none is left. */
function withoutGatehouseCookies(v: string | string[], onDrop: ResponseDropListener): string | string[] | undefined {
  if (typeof v === 'string') return setsGatehouseCookie(v, onDrop) ? undefined : v;
  let kept: string[] | undefined;
  for (let i = 0; i < v.length; i++) {
    if (setsGatehouseCookie(v[i]!, onDrop)) kept ??= v.slice(0, i);
    else if (kept !== undefined) kept.push(v[i]!);
  }
  if (kept === undefined) return v;
  return kept.length === 0 ? undefined : kept;
}
