import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cookieNames } from '../config/cookie-names.js';
import { DEFAULTS } from '../config/defaults.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { parseTrustedProxies } from '../config/trusted-proxies.js';
import { ClientIpResolver, forwardedForNodes } from './client-ip.js';

const xff = (trusted: string[]) => new ClientIpResolver(trusted, 'x-forwarded-for');
const fwd = (trusted: string[]) => new ClientIpResolver(trusted, 'forwarded');

describe('client IP: closed by default', () => {
  it('without trusted proxies the socket address is the client, whatever the headers say', () => {
    const r = xff([]);
    for (const v of ['203.0.113.1', '198.51.100.2, 203.0.113.1', 'garbage', undefined]) {
      expect(r.resolve('192.0.2.10', v, 'for=203.0.113.9')).toEqual({ ip: '192.0.2.10', forwardedFor: '192.0.2.10' });
    }
    expect(r.resolve('::ffff:192.0.2.10', '203.0.113.1', undefined).ip).toBe('192.0.2.10');
    expect(r.resolve('2001:DB8::A', undefined, undefined).ip).toBe('2001:db8::a');
  });

  it('the same socket address again: the same answer object, not parsed again; other addresses in between answer for themselves', () => {
    const r = xff([]);
    const a = r.resolve('::ffff:192.0.2.10', undefined, undefined);
    expect(r.resolve('::ffff:192.0.2.10', '203.0.113.1', undefined)).toBe(a);
    expect(r.resolve('2001:DB8::A', undefined, undefined)).toEqual({ ip: '2001:db8::a', forwardedFor: '2001:db8::a' });
    expect(r.resolve('::ffff:192.0.2.10', undefined, undefined)).toEqual({ ip: '192.0.2.10', forwardedFor: '192.0.2.10' });
    expect(r.resolve('not an ip', undefined, undefined)).toEqual({ ip: 'not an ip', forwardedFor: 'not an ip' });
    expect(r.resolve(undefined, undefined, undefined)).toEqual({ ip: '', forwardedFor: '' });
    // From a trusted proxy the header still decides, also right after the memo answered for it.
    const t = xff(['10.0.0.0/8']);
    expect(t.resolve('10.1.2.3', undefined, undefined)).toEqual({ ip: '10.1.2.3', forwardedFor: '10.1.2.3' });
    expect(t.resolve('10.1.2.3', '203.0.113.7', undefined)).toEqual({ ip: '203.0.113.7', forwardedFor: '203.0.113.7, 10.1.2.3' });
    expect(t.resolve('10.1.2.3', undefined, undefined)).toEqual({ ip: '10.1.2.3', forwardedFor: '10.1.2.3' });
  });

  it('an untrusted socket cannot get in by rotating X-Forwarded-For values', () => {
    const r = xff(['10.0.0.0/8']);
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) seen.add(r.resolve('203.0.113.50', `10.0.0.${i}, 198.51.100.${i}`, undefined).ip);
    expect([...seen]).toEqual(['203.0.113.50']);
  });
});

describe('client IP: behind trusted proxies (X-Forwarded-For)', () => {
  it('walks from the right, skipping trusted hops (IPv4 CIDR)', () => {
    const r = xff(['10.0.0.0/8']);
    expect(r.resolve('10.1.2.3', '203.0.113.7, 10.9.9.9', undefined)).toEqual({ ip: '203.0.113.7', forwardedFor: '203.0.113.7, 10.9.9.9, 10.1.2.3' });
    // A client-prepended value is left of the first untrusted hop: never believed, never forwarded.
    expect(r.resolve('10.1.2.3', '1.1.1.1, 203.0.113.7', undefined)).toEqual({ ip: '203.0.113.7', forwardedFor: '203.0.113.7, 10.1.2.3' });
    // Rotating the client-controlled part does not change the address.
    for (let i = 0; i < 20; i++) expect(r.resolve('10.1.2.3', `198.51.100.${i}, 203.0.113.7`, undefined).ip).toBe('203.0.113.7');
  });

  it('handles IPv6 (bracketed, with ports, upper case, CIDR) and IPv4-mapped sockets', () => {
    const r = xff(['2001:db8::/32', '192.0.2.1']);
    expect(r.resolve('2001:db8::1', '2A00:1450:4001::5', undefined).ip).toBe('2a00:1450:4001::5');
    expect(r.resolve('2001:db8::1', '[2a00:1450::5]:443, 2001:db8:ffff::2', undefined)).toEqual({
      ip: '2a00:1450::5',
      forwardedFor: '2a00:1450::5, 2001:db8:ffff::2, 2001:db8::1',
    });
    expect(r.resolve('::ffff:192.0.2.1', '203.0.113.4:5678', undefined).ip).toBe('203.0.113.4');
    // An IPv6 neighbour of the trusted block is not trusted.
    expect(r.resolve('2001:db9::1', '203.0.113.4', undefined).ip).toBe('2001:db9::1');
  });

  it('a malformed entry stops the walk at the last trusted hop', () => {
    const r = xff(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.1', '203.0.113.7, garbage', undefined)).toEqual({ ip: '10.0.0.1', forwardedFor: '10.0.0.1' });
    expect(r.resolve('10.0.0.1', '203.0.113.7, unknown, 10.0.0.2', undefined)).toEqual({ ip: '10.0.0.2', forwardedFor: '10.0.0.2, 10.0.0.1' });
    expect(r.resolve('10.0.0.1', '203.0.113.7,, 10.0.0.2', undefined).ip).toBe('10.0.0.2');
    expect(r.resolve('10.0.0.1', '[2001:db8::1', undefined).ip).toBe('10.0.0.1');
    expect(r.resolve('10.0.0.1', '1.2.3.4:99999999', undefined).ip).toBe('10.0.0.1');
  });

  it('every hop trusted: the leftmost one; no header: the proxy itself', () => {
    const r = xff(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.1', '10.0.0.3, 10.0.0.2', undefined).ip).toBe('10.0.0.3');
    expect(r.resolve('10.0.0.1', undefined, undefined).ip).toBe('10.0.0.1');
  });

  it('reads only the configured header: Forwarded is ignored in x-forwarded-for mode and vice versa', () => {
    expect(xff(['10.0.0.0/8']).resolve('10.0.0.1', undefined, 'for=203.0.113.9').ip).toBe('10.0.0.1');
    expect(fwd(['10.0.0.0/8']).resolve('10.0.0.1', '203.0.113.9', undefined).ip).toBe('10.0.0.1');
  });
});

describe('client IP: Forwarded (RFC 7239)', () => {
  it('parses for= nodes, quoted and bracketed, honouring quotes', () => {
    expect(forwardedForNodes('for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"')).toEqual(['192.0.2.60', '[2001:db8:cafe::17]:4711']);
    expect(forwardedForNodes('by="a,b";for=192.0.2.1')).toEqual(['192.0.2.1']);
    expect(forwardedForNodes('proto=https, for=1.2.3.4;for=5.6.7.8, for="1.2.3.4')).toEqual(['', '', '']);
  });

  it('walks Forwarded like X-Forwarded-For; obfuscated or unknown nodes stop the walk', () => {
    const r = fwd(['10.0.0.0/8']);
    expect(r.resolve('10.0.0.1', undefined, 'for=198.51.100.1, for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.9')).toEqual({
      ip: '2001:db8:cafe::17',
      forwardedFor: '2001:db8:cafe::17, 10.0.0.9, 10.0.0.1',
    });
    expect(r.resolve('10.0.0.1', undefined, 'for=198.51.100.1, for=_hidden').ip).toBe('10.0.0.1');
    expect(r.resolve('10.0.0.1', undefined, 'for=unknown, for=10.0.0.7').ip).toBe('10.0.0.7');
  });
});

describe('config: trusted proxies, client IP header, CORS origins, cookie names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-gw-config-'));
  const load = (json: unknown) => {
    const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(json));
    return loadConfig({ env: { GATEHOUSE_CONFIG: f } });
  };

  it('defaults are closed: no trusted proxy, no CORS origin', () => {
    expect(DEFAULTS.gateway.trustedProxies).toEqual([]);
    expect(DEFAULTS.gateway.clientIpHeader).toBe('x-forwarded-for');
    expect(DEFAULTS.cors).toEqual({ origins: [], allowCredentials: true, maxAgeSec: 600 });
  });

  it('accepts addresses and CIDR blocks of both families', () => {
    const c = load({ gateway: { trustedProxies: ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1', '::ffff:172.16.0.0/108'], clientIpHeader: 'forwarded' } });
    expect(c.gateway.trustedProxies).toHaveLength(5);
    const list = parseTrustedProxies(c.gateway.trustedProxies);
    expect(list.check('172.16.3.4', 'ipv4')).toBe(true);
    expect(list.check('172.32.0.1', 'ipv4')).toBe(false);
  });

  it.each([
    [{ gateway: { trustedProxies: ['proxy.internal'] } }, /trustedProxies/],
    [{ gateway: { trustedProxies: ['10.0.0.0/33'] } }, /prefix/],
    [{ gateway: { trustedProxies: ['::/129'] } }, /prefix/],
    [{ gateway: { trustedProxies: '10.0.0.1' } }, /array of strings/],
    [{ gateway: { clientIpHeader: 'x-real-ip' } }, /clientIpHeader/],
    [{ cors: { origins: ['*'] } }, /cors.origins/],
    [{ cors: { origins: ['null'] } }, /cors.origins/],
    [{ cors: { origins: ['https://app.example/'] } }, /cors.origins/],
    [{ cors: { origins: ['https://app.example/path'] } }, /cors.origins/],
    [{ cors: { allowCredentials: 'yes' } }, /cors.allowCredentials/],
  ])('refuses %j', (json, message) => {
    expect(() => load(json)).toThrow(ConfigError);
    expect(() => load(json)).toThrow(message);
  });

  it('cookie names: __Host- (and __Secure- for the /auth-scoped cookie) on https only', () => {
    const c = structuredClone(DEFAULTS);
    c.publicUrl = 'https://gatehouse.example';
    expect(cookieNames(c)).toEqual({
      session: '__Host-gatehouse_session',
      csrf: '__Host-gatehouse_csrf',
      device: '__Host-gatehouse_device',
      knownDevice: '__Secure-gatehouse_known_device',
      federation: '__Host-gatehouse_federation',
    });
    c.publicUrl = 'http://127.0.0.1:8080';
    expect(cookieNames(c)).toEqual({ session: 'gatehouse_session', csrf: 'gatehouse_csrf', device: 'gatehouse_device', knownDevice: 'gatehouse_known_device', federation: 'gatehouse_federation' });
  });
});
