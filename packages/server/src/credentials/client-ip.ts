import { isIPv4, isIPv6 } from 'node:net';
import { unmapIpv4 } from '../config/trusted-proxies.js';

/**
 * The header the gateway sets to the client address it resolved (`gateway/client-ip.ts`, after
 * its trusted-proxy rules) and the auth service reads (`auth/client-ip.ts`). The gateway removes
 * any copy a client sends, so only the gateway can set it.
 */
export const CLIENT_IP_HEADER = 'x-gatehouse-client-ip';

/** A bare address in canonical-enough form (mapped IPv4 unmapped, IPv6 lower-case); '' when not an IP. */
export function normalizeIp(s: string): string {
  if (isIPv4(s)) return s;
  if (isIPv6(s)) return unmapIpv4(s.toLowerCase());
  return '';
}
