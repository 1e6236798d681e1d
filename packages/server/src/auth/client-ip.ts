import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { CLIENT_IP_HEADER, normalizeIp } from '../credentials/client-ip.js';

/**
 * The client address of a request to the auth service: `x-gatehouse-client-ip` when it holds
 * exactly one valid IP address, else the socket address (the gateway's, when called through it).
 * `X-Forwarded-For` and `Forwarded` are never read: the auth service believes only its gateway.
 */
export function clientIp(request: FastifyRequest): string {
  const header = request.headers[CLIENT_IP_HEADER];
  if (typeof header === 'string') {
    const ip = normalizeIp(header.trim());
    if (ip !== '') return ip;
  }
  const socket = request.socket.remoteAddress ?? request.ip;
  return normalizeIp(socket) || socket;
}

/** Expands an IPv6 address to its eight 4-digit groups. */
function expandIpv6(ip: string): string[] {
  const noZone = ip.split('%')[0]!;
  const [head, tail] = noZone.includes('::') ? noZone.split('::') : [noZone, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

/**
 * The bucket of an address for per-IP limits: an IPv4 address as is, an IPv6 address by its
 * /64 (one subscriber usually holds a whole /64, so single addresses would be free to rotate).
 */
export function ipBucket(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
}
