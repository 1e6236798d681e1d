import { BlockList, isIP } from 'node:net';

/**
 * `gateway.trustedProxies` compiled into a `node:net` BlockList. Entries are IPv4 or IPv6
 * addresses or CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`); an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) counts as its IPv4 address. Throws an Error naming a bad entry.
 */
export function parseTrustedProxies(list: readonly string[]): BlockList {
  const blocks = new BlockList();
  for (const raw of list) {
    const entry = raw.trim();
    const slash = entry.indexOf('/');
    const addr = unmapIpv4(slash < 0 ? entry : entry.slice(0, slash));
    const family = isIP(addr);
    if (family === 0) throw new Error(`gateway.trustedProxies: ${JSON.stringify(raw)} is not an IP address or CIDR block.`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (slash < 0) {
      blocks.addAddress(addr, type);
      continue;
    }
    const bitsText = entry.slice(slash + 1);
    const bits = Number(bitsText);
    const max = family === 4 ? 32 : 128;
    // A mapped IPv4 block (::ffff:10.0.0.0/104) is given in IPv6 bits.
    const mapped = addr !== entry.slice(0, slash);
    const prefix = mapped ? bits - 96 : bits;
    if (!/^\d{1,3}$/.test(bitsText) || prefix < 0 || prefix > max) {
      throw new Error(`gateway.trustedProxies: ${JSON.stringify(raw)} has a bad prefix length.`);
    }
    blocks.addSubnet(addr, prefix, type);
  }
  return blocks;
}

const MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:192.0.2.1` -> `192.0.2.1`; anything else unchanged. */
export function unmapIpv4(ip: string): string {
  if (ip.length < 14 || ip.charCodeAt(0) !== 58) return ip;
  const m = MAPPED.exec(ip);
  return m ? m[1]! : ip;
}
