import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { clientIp, ipBucket } from './client-ip.js';

function req(headers: Record<string, string | string[]>, remoteAddress = '127.0.0.1'): FastifyRequest {
  return { headers, socket: { remoteAddress }, ip: remoteAddress } as unknown as FastifyRequest;
}

describe('clientIp', () => {
  it('takes the gateway header when it holds one valid address', () => {
    expect(clientIp(req({ 'x-gatehouse-client-ip': '203.0.113.9' }))).toBe('203.0.113.9');
    expect(clientIp(req({ 'x-gatehouse-client-ip': ' 2001:DB8::1 ' }))).toBe('2001:db8::1');
    expect(clientIp(req({ 'x-gatehouse-client-ip': '::ffff:198.51.100.4' }))).toBe('198.51.100.4');
  });

  it('falls back to the socket address for a missing, malformed or repeated header', () => {
    expect(clientIp(req({}, '192.0.2.1'))).toBe('192.0.2.1');
    expect(clientIp(req({ 'x-gatehouse-client-ip': 'evil, 1.2.3.4' }, '192.0.2.1'))).toBe('192.0.2.1');
    expect(clientIp(req({ 'x-gatehouse-client-ip': ['1.2.3.4', '5.6.7.8'] }, '192.0.2.1'))).toBe('192.0.2.1');
    expect(clientIp(req({}, '::ffff:192.0.2.7'))).toBe('192.0.2.7');
  });

  it('never believes X-Forwarded-For or Forwarded', () => {
    expect(clientIp(req({ 'x-forwarded-for': '203.0.113.1', forwarded: 'for=203.0.113.2', 'x-real-ip': '203.0.113.3' }, '192.0.2.1'))).toBe('192.0.2.1');
  });
});

describe('ipBucket', () => {
  it('keeps IPv4 addresses and groups IPv6 addresses by /64', () => {
    expect(ipBucket('203.0.113.9')).toBe('203.0.113.9');
    expect(ipBucket('2001:db8:1:2::1')).toBe('2001:0db8:0001:0002::/64');
    expect(ipBucket('2001:db8:1:2:ffff:eeee:dddd:cccc')).toBe('2001:0db8:0001:0002::/64');
    expect(ipBucket('::1')).toBe('0000:0000:0000:0000::/64');
    expect(ipBucket('fe80::1%eth0')).toBe('fe80:0000:0000:0000::/64');
  });
});
