import { DUPLICATE, type Exchange } from '../../exchange.js';

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
  'expect',
  'http2-settings',
]);

export const SESSION_COOKIE = 'gatehouse_session';
export const CSRF_COOKIE = 'gatehouse_csrf';

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

/** Values the gateway adds for the upstream. */
export interface ForwardedFor {
  proto: string;
  /** Used when the client sent no Host. */
  defaultHost: string;
}

/**
 * Removes the gateway's cookies from one Cookie header value; remembers the session cookie.
 * Names are compared case-insensitively so no spelling of them slips through.
 */
function filterCookies(ex: Exchange, value: string): string {
  if (value.toLowerCase().indexOf('gatehouse_') < 0) return value;
  let kept = '';
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      // Two different session cookies (cookie tossing from a sibling domain): trust neither.
      if (ex.sessionCookie === undefined) ex.sessionCookie = v;
      else if (ex.sessionCookie !== v) ex.sessionCookie = DUPLICATE;
      continue;
    }
    if (name === CSRF_COOKIE) continue;
    const piece = part.trim();
    if (piece) kept = kept ? `${kept}; ${piece}` : piece;
  }
  return kept;
}

/**
 * Stage 1. One pass over `req.rawHeaders` (so duplicates and any spelling are seen): builds the
 * upstream headers without hop-by-hop headers, headers named in `Connection`, `x-passport`,
 * the configured identity headers, `Authorization` and the gateway's cookies; records what
 * later stages need; then sets `x-forwarded-for/-proto/-host`.
 */
export function strip(ex: Exchange, rules: StripRules, fwd: ForwardedFor): void {
  const raw = ex.req.rawHeaders;
  const out = ex.headers;
  let connection: string | undefined;
  let xff: string | undefined;
  let cookies: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    switch (name) {
      case 'cookie': {
        const kept = filterCookies(ex, value);
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
      case 'host':
        host = value;
        continue;
      case 'content-length':
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
      default:
        if (DROPPED.has(name) || stripped(name, rules)) continue;
    }
    out.push(name, value);
  }
  // Headers the client named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  if (cookies) out.push('cookie', cookies);
  if (connection !== undefined) removeConnectionNamed(out, connection);
  const remote = ex.req.socket.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === undefined ? remote : `${xff}, ${remote}`);
  out.push('x-forwarded-proto', fwd.proto);
  out.push('x-forwarded-host', host ?? fwd.defaultHost);
}

function removeConnectionNamed(out: string[], connection: string): void {
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

/** Response headers: hop-by-hop ones and any the upstream named in its `Connection`, removed in place. */
export function stripResponseHeaders(headers: Record<string, string | string[] | undefined>): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const token of String(connection).split(',')) {
      const t = token.trim().toLowerCase();
      if (t) delete headers[t];
    }
  }
  for (const h of HOP_BY_HOP) if (headers[h] !== undefined) delete headers[h];
}
