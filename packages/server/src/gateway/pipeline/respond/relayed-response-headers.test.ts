import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../../config/defaults.js';
import { compileStripRules } from '../headers.js';
import { relayedResponseHeaders as relay, type DroppedResponseHeader } from './relay.js';

const rules = compileStripRules(DEFAULTS.gateway.stripHeaders);

/** relayedResponseHeaders as a service route calls it (keepGatehouseCookies false), recording drops. */
function relayedResponseHeaders(headers: Record<string, string | string[] | undefined>, keepGatehouseCookies = false, drops: Array<[DroppedResponseHeader, string]> = []) {
  return relay(headers, rules, keepGatehouseCookies, { headerDropped: (kind, name) => drops.push([kind, name]) });
}

describe('relayedResponseHeaders', () => {
  it('drops hop-by-hop headers, headers the upstream named in Connection, and CORS headers; keeps the rest', () => {
    const upstream = {
      'content-type': 'application/json',
      connection: 'keep-alive, X-Secret-Hop',
      'keep-alive': 'timeout=5',
      'x-secret-hop': '1',
      'transfer-encoding': 'chunked',
      'access-control-allow-origin': '*',
      'access-control-allow-credentials': 'true',
      'set-cookie': ['a=1', 'b=2'],
      'x-kept': 'yes',
      'x-undefined': undefined,
    };
    expect(relayedResponseHeaders(upstream)).toEqual(['content-type', 'application/json', 'set-cookie', ['a=1', 'b=2'], 'x-kept', 'yes']);
  });

  it('a Connection that names a header the gateway owns removes nothing extra and nothing else', () => {
    expect(relayedResponseHeaders({ connection: 'close', 'x-a': '1' })).toEqual(['x-a', '1']);
    expect(relayedResponseHeaders({ connection: ' , ', 'x-a': '1' })).toEqual(['x-a', '1']);
  });

  it('copies rather than deletes: the upstream object is left as undici gave it', () => {
    const upstream = { connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' };
    relayedResponseHeaders(upstream);
    expect(upstream).toEqual({ connection: 'keep-alive', 'keep-alive': 'timeout=5', 'x-a': '1' });
  });
});

describe('relayedResponseHeaders: Gatehouse cookies and identity headers (issue 11)', () => {
  const gatehouseCookies = [
    'gatehouse_session=attacker; Path=/; HttpOnly',
    'GATEHOUSE_SESSION=attacker; Path=/',
    'Gatehouse_Csrf=x; Path=/',
    'gatehouse_csrf=x; Domain=example.com; Path=/',
    'gatehouse_device=d; Path=/auth',
    'gatehouse_known_device=k; Path=/auth; Max-Age=0',
    '__Host-gatehouse_session=attacker; Path=/; Secure',
    '__host-GATEHOUSE_SESSION=attacker; Path=/; Secure',
    '__Secure-gatehouse_known_device=k; Path=/auth; Secure',
    '__Secure-gatehouse_session=attacker; Path=/; Secure',
    ' \tgatehouse_session =attacker',
    'gatehouse_session',
    '=gatehouse_session=attacker',
    ' = gatehouse_session=attacker; Path=/',
    'gatehouse_session=; Max-Age=0; Path=/',
  ];

  it('a service answer loses every Set-Cookie naming a Gatehouse cookie (any case, prefix, attribute); other cookies keep their order', () => {
    const drops: Array<[DroppedResponseHeader, string]> = [];
    const out = relayedResponseHeaders({ 'set-cookie': ['a=1', ...gatehouseCookies, 'b=gatehouse_x_in_a_value; Path=/'], 'x-kept': '1' }, false, drops);
    expect(out).toEqual(['set-cookie', ['a=1', 'b=gatehouse_x_in_a_value; Path=/'], 'x-kept', '1']);
    expect(drops).toHaveLength(gatehouseCookies.length);
    expect(drops.every(([kind]) => kind === 'set_cookie')).toBe(true);
    // Reported by name, never with a value.
    expect(drops.filter(([, name]) => name.includes('attacker') || !/gatehouse_/i.test(name))).toEqual([]);
  });

  it('a single Set-Cookie value, and a list of only Gatehouse cookies, leave no Set-Cookie at all', () => {
    expect(relayedResponseHeaders({ 'set-cookie': 'gatehouse_session=x; Path=/', 'x-a': '1' })).toEqual(['x-a', '1']);
    expect(relayedResponseHeaders({ 'set-cookie': ['__Host-gatehouse_session=x', 'gatehouse_csrf=y'], 'x-a': '1' })).toEqual(['x-a', '1']);
    const same = ['a=1', 'b=2'];
    expect(relayedResponseHeaders({ 'set-cookie': same })[1]).toBe(same);
  });

  it('the auth service\'s own routes keep their Gatehouse cookies', () => {
    const cookies = ['gatehouse_session=s; Path=/; HttpOnly', 'gatehouse_csrf=c; Path=/', 'gatehouse_known_device=k; Path=/auth'];
    expect(relayedResponseHeaders({ 'set-cookie': cookies }, true)).toEqual(['set-cookie', cookies]);
  });

  it('drops x-passport and the configured identity headers on every route, the auth service\'s too', () => {
    for (const keep of [false, true]) {
      const drops: Array<[DroppedResponseHeader, string]> = [];
      const out = relayedResponseHeaders(
        { 'x-passport': 'eyJ.forged', 'x-user-id': '1', 'x-auth-request-user': 'root', 'x-forwarded-user': 'root', 'x-remote-user': 'r', 'remote-user': 'r', 'x-roles': 'admin', 'x-request-id': 'keep', 'content-type': 'text/plain' },
        keep,
        drops,
      );
      expect(out).toEqual(['x-request-id', 'keep', 'content-type', 'text/plain']);
      expect(drops.map(([kind, name]) => `${kind}:${name}`)).toEqual(
        ['x-passport', 'x-user-id', 'x-auth-request-user', 'x-forwarded-user', 'x-remote-user', 'remote-user', 'x-roles'].map((n) => `identity_header:${n}`),
      );
    }
  });
});
