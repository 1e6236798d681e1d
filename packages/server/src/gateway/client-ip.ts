import { isIPv4, isIPv6, type BlockList } from 'node:net';
import { parseTrustedProxies, unmapIpv4 } from '../config/trusted-proxies.js';
import { normalizeIp } from '../credentials/client-ip.js';

/** Which forwarding header the trusted proxies write (`gateway.clientIpHeader`). */
export type ClientIpSource = 'x-forwarded-for' | 'forwarded';

/** The client address and the `X-Forwarded-For` chain the upstream gets. */
export interface ClientAddress {
  readonly ip: string;
  /** `client, proxy1, …, socket`: only the hops the gateway could verify; its first entry is `ip`. */
  readonly forwardedFor: string;
}

/**
 * Client-IP resolution (DESIGN §3: `X-Forwarded-For` is trusted only from configured proxies).
 *
 * - The socket address is the client, unless it is a trusted proxy (`gateway.trustedProxies`,
 *   empty by default: nothing is trusted and forwarding headers are ignored).
 * - From a trusted proxy, the one header named by `gateway.clientIpHeader` is read (all its
 *   lines, in order) and walked from the right: trusted addresses are skipped, the first
 *   untrusted one is the client. The other header is ignored: a proxy that only appends one of
 *   them passes the other through from the client untouched, so reading it would let a client
 *   choose its own address.
 * - A malformed entry (not an IP, `unknown`, an obfuscated `_id`, a missing `for=`) stops the
 *   walk: the client is the last trusted hop seen (the socket address when it is the first).
 *   When every listed hop is trusted, the leftmost one is the client.
 */
export class ClientIpResolver {
  private readonly trusted: BlockList | null;

  constructor(
    trustedProxies: readonly string[],
    private readonly source: ClientIpSource,
  ) {
    this.trusted = trustedProxies.length === 0 ? null : parseTrustedProxies(trustedProxies);
  }

  /** Whether forwarding headers are read at all (else strip need not collect them). */
  get enabled(): boolean {
    return this.trusted !== null;
  }

  /**
   * The last socket address seen and its answer as the client (one entry: the requests of a
   * keep-alive connection, or of a proxy in front, repeat it), so a request from the same address
   * neither parses it again nor makes an object. Shared, hence read-only.
   */
  private lastRemote: string | undefined = undefined;
  private lastDirect: ClientAddress = { ip: '', forwardedFor: '' };

  /** The socket address as the client: the address normalized, as it is when it is no IP. */
  private direct(remoteAddress: string | undefined): ClientAddress {
    if (remoteAddress === this.lastRemote && remoteAddress !== undefined) return this.lastDirect;
    const socket = normalizeIp(remoteAddress ?? '') || (remoteAddress ?? '');
    const answer = { ip: socket, forwardedFor: socket };
    this.lastRemote = remoteAddress;
    this.lastDirect = answer;
    return answer;
  }

  /** `xff` and `forwarded` are the joined header lines the client (or proxy) sent, if any. */
  resolve(remoteAddress: string | undefined, xff: string | undefined, forwarded: string | undefined): ClientAddress {
    const direct = this.direct(remoteAddress);
    const socket = direct.ip;
    const header = this.source === 'forwarded' ? forwarded : xff;
    if (this.trusted === null || header === undefined || !this.isTrusted(socket)) return direct;
    const hops = this.source === 'forwarded' ? forwardedForNodes(header) : header.split(',');
    let ip = socket;
    let chain = socket;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = parseNode(hops[i]!);
      if (hop === '') break;
      ip = hop;
      chain = `${hop}, ${chain}`;
      if (!this.isTrusted(hop)) break;
    }
    return { ip, forwardedFor: chain };
  }

  /** Whether the socket address is a trusted proxy (its `X-Forwarded-Host/-Proto/-Port` are believed). */
  trustsPeer(remoteAddress: string | undefined): boolean {
    if (this.trusted === null) return false;
    return this.isTrusted(normalizeIp(remoteAddress ?? '') || (remoteAddress ?? ''));
  }

  private isTrusted(ip: string): boolean {
    if (ip === '' || this.trusted === null) return false;
    return this.trusted.check(ip, ip.indexOf(':') >= 0 ? 'ipv6' : 'ipv4');
  }
}

/**
 * One hop: `1.2.3.4`, `1.2.3.4:port`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:port`
 * (surrounding spaces allowed). '' for anything else.
 */
function parseNode(raw: string): string {
  const s = raw.trim();
  if (s.charCodeAt(0) === 91) {
    const close = s.indexOf(']');
    if (close < 0) return '';
    const rest = s.slice(close + 1);
    if (rest !== '' && !isPort(rest)) return '';
    const v6 = s.slice(1, close);
    return isIPv6(v6) ? unmapIpv4(v6.toLowerCase()) : '';
  }
  const colon = s.indexOf(':');
  if (colon >= 0 && s.indexOf(':', colon + 1) < 0) {
    // IPv4 with a port.
    const v4 = s.slice(0, colon);
    return isIPv4(v4) && isPort(s.slice(colon)) ? v4 : '';
  }
  return normalizeIp(s);
}

function isPort(s: string): boolean {
  if (s.length < 2 || s.length > 6 || s.charCodeAt(0) !== 58) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The `for=` value of each element of a `Forwarded` header (RFC 7239), in order; '' for an
 * element without exactly one `for=`. Quoted strings are honoured (a `,` or `;` inside quotes
 * does not split).
 */
export function forwardedForNodes(value: string): string[] {
  const out: string[] = [];
  let forValue: string | undefined;
  let forCount = 0;
  let pairStart = 0;
  let inQuotes = false;
  const endPair = (end: number) => {
    const pair = value.slice(pairStart, end);
    const eq = pair.indexOf('=');
    if (eq >= 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') {
      forCount++;
      forValue = unquote(pair.slice(eq + 1).trim());
    }
    pairStart = end + 1;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuotes) {
      if (c === 92) i++;
      else if (c === 34) inQuotes = false;
    } else if (c === 34) inQuotes = true;
    else if (c === 59) endPair(i);
    else if (c === 44) {
      endPair(i);
      out.push(forCount === 1 ? forValue! : '');
      forValue = undefined;
      forCount = 0;
    }
  }
  endPair(value.length);
  out.push(inQuotes || forCount !== 1 ? '' : forValue!);
  return out;
}

function unquote(v: string): string {
  if (v.length < 2 || v.charCodeAt(0) !== 34 || v.charCodeAt(v.length - 1) !== 34) return v;
  return v.slice(1, -1).replace(/\\(.)/g, '$1');
}
