import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientIpResolver } from '../../client-ip.js';
import { DUPLICATE, Exchange } from '../../exchange.js';
import type { CompiledRoute } from '../../routing.js';
import { compileStripRules } from '../headers.js';
import { strip, type StripOptions } from './strip.js';

/** Authorization never reaches an upstream, except HTTP Basic at the token endpoint (client_secret_basic, issue 14). */
function forwarded(authorization: string[], route: { prefix: string; authService: boolean }): { sent: string[]; seen: string | undefined } {
  const req = { rawHeaders: authorization.flatMap((v) => ['Authorization', v]), socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  const ex = new Exchange(req, {} as ServerResponse, route as CompiledRoute, '/');
  const opts: StripOptions = {
    proto: 'http',
    defaultHost: 'gw.test',
    cookies: { session: 'gatehouse_session', csrf: 'gatehouse_csrf', device: 'gatehouse_device', knownDevice: 'gatehouse_known_device', federation: 'gatehouse_federation' },
    clientIp: new ClientIpResolver([], 'x-forwarded-for'),
  };
  strip(ex, compileStripRules([]), opts);
  const sent: string[] = [];
  for (let i = 0; i < ex.headers.length; i += 2) if (ex.headers[i] === 'authorization') sent.push(ex.headers[i + 1]!);
  return { sent, seen: ex.authorization };
}

const TOKEN = { prefix: '/auth/token', authService: true };
const BASIC = 'Basic YmlsbGluZzpnaGNfeA==';

describe('strip: Authorization', () => {
  it('forwards one HTTP Basic header to the auth service\'s token endpoint', () => {
    expect(forwarded([BASIC], TOKEN).sent).toEqual([BASIC]);
    expect(forwarded(['basic YQ=='], TOKEN).sent).toEqual(['basic YQ==']);
  });

  it('never forwards Bearer, a duplicate, or Basic to any other route', () => {
    expect(forwarded(['Bearer abc'], TOKEN).sent).toEqual([]);
    const dup = forwarded([BASIC, BASIC], TOKEN);
    expect(dup.seen).toBe(DUPLICATE);
    expect(dup.sent).toEqual([]);
    for (const route of [{ prefix: '/auth/introspect', authService: true }, { prefix: '/auth', authService: true }, { prefix: '/auth/token', authService: false }, { prefix: '/api', authService: false }]) {
      expect(forwarded([BASIC], route).sent, route.prefix).toEqual([]);
    }
  });
});
