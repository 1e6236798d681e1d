/**
 * The header vocabulary both directions share: the strip stage (request headers to the upstream)
 * and the respond stage (the upstream's answer headers to the client) drop the same hop-by-hop
 * and identity headers and recognise Gatehouse cookies the same way.
 */

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

export function stripped(name: string, rules: StripRules): boolean {
  if (rules.exact.has(name)) return true;
  for (const p of rules.prefixes) if (name.startsWith(p)) return true;
  return false;
}

/** `x-passport` or a configured identity header, remembered per name (answers repeat the same few names). */
export function identityHeader(name: string, rules: StripRules): boolean {
  let r = rules.known.get(name);
  if (r === undefined) {
    r = name === 'x-passport' || stripped(name, rules);
    // Bounded: an upstream inventing names cannot grow it.
    if (rules.known.size < 256) rules.known.set(name, r);
  }
  return r;
}

/** Gatehouse cookie names and Set-Cookie values mention this, in any case. */
export const GATEHOUSE_COOKIE = /gatehouse_/i;

/** `Connection` values that name no other header (what clients and upstreams nearly always send). */
export const PLAIN_CONNECTION: ReadonlySet<string> = new Set(['keep-alive', 'close', 'Keep-Alive', 'Close']);
