import { REVOKED_HEADER } from '../../../credentials/revocation.js';
import { GATEHOUSE_COOKIE, HOP_BY_HOP, PLAIN_CONNECTION, identityHeader, type StripRules } from '../headers.js';

/*
 * The respond stage for proxied answers: which of the upstream's headers reach the client.
 * Called by the proxy stage (ProxyCall.onResponseStart) once per answer.
 */

/**
 * Response headers the gateway alone decides for its public origin: CORS (an upstream that
 * reflected any Origin with credentials would undo the allow-list). Hop-by-hop ones go too.
 */
const RESPONSE_DROPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  // The auth service's word to the proxying gateway (the proxy stage reads it); never relayed.
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
