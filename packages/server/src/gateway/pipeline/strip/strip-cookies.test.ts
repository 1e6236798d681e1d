import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ClientIpResolver } from '../../client-ip.js';
import { DUPLICATE, Exchange } from '../../exchange.js';
import type { CompiledRoute } from '../../routing.js';
import { compileStripRules } from '../headers.js';
import { strip, type StripOptions } from './strip.js';

const HTTP_NAMES = { session: 'gatehouse_session', csrf: 'gatehouse_csrf', device: 'gatehouse_device', knownDevice: 'gatehouse_known_device', federation: 'gatehouse_federation' };
const HTTPS_NAMES = { session: '__Host-gatehouse_session', csrf: '__Host-gatehouse_csrf', device: '__Host-gatehouse_device', knownDevice: '__Secure-gatehouse_known_device', federation: '__Host-gatehouse_federation' };

function run(cookieHeaders: string[], opts: { authService?: boolean; https?: boolean } = {}) {
  const rawHeaders = cookieHeaders.flatMap((v) => ['Cookie', v]);
  const req = { rawHeaders, socket: { remoteAddress: '127.0.0.1' } } as unknown as IncomingMessage;
  const route = { authService: opts.authService ?? false } as CompiledRoute;
  const ex = new Exchange(req, {} as ServerResponse, route, '/');
  const stripOpts: StripOptions = {
    proto: 'http',
    defaultHost: 'gw.test',
    cookies: opts.https ? HTTPS_NAMES : HTTP_NAMES,
    clientIp: new ClientIpResolver([], 'x-forwarded-for'),
  };
  strip(ex, compileStripRules([]), stripOpts);
  const i = ex.headers.indexOf('cookie');
  return { session: ex.sessionCookie, forwarded: i < 0 ? undefined : ex.headers[i + 1] };
}

describe('strip: cookies', () => {
  it('takes the session cookie out and passes the others in order with their values', () => {
    expect(run(['theme=dark; gatehouse_session=s3cret; a=b=c; gatehouse_csrf=t'])).toEqual({ session: 's3cret', forwarded: 'theme=dark; a=b=c' });
  });

  it('a header with no Gatehouse cookie passes untouched, spacing included', () => {
    expect(run(['a=1;b=2;  c=3'])).toEqual({ session: undefined, forwarded: 'a=1;b=2;  c=3' });
  });

  it('trims spaces, tabs and NBSP around pairs and names as trim() does; empty pairs vanish', () => {
    expect(run(['\ta=1 ;; \u00a0gatehouse_session = v1 ;  ;b=2\t'])).toEqual({ session: 'v1', forwarded: 'a=1; b=2' });
  });

  it('removes every Gatehouse cookie whatever its case or prefix, even on routes of other services', () => {
    const r = run(['GATEHOUSE_DEVICE=d; __Host-Gatehouse_x=1; __secure-gatehouse_known_device=k; keep=1; Gatehouse=1']);
    expect(r).toEqual({ session: undefined, forwarded: 'keep=1; Gatehouse=1' });
  });

  it('names near the Gatehouse spellings: only gatehouse_, __Host-gatehouse_ or __Secure-gatehouse_ (any case) counts, and only the exact name is the session', () => {
    const r = run(['gatehouse=1; gatehousex_=2; __Host-gatehouse=3; gatehouse_=4; gatehouse_sessionx=5; gatehouse_Session=6; __Host-gatehouse_session=7; _gatehouse_=8; g=9']);
    expect(r).toEqual({ session: undefined, forwarded: 'gatehouse=1; gatehousex_=2; __Host-gatehouse=3; _gatehouse_=8; g=9' });
    expect(run(['gatehouse_session =a; x=1'])).toEqual({ session: 'a', forwarded: 'x=1' });
    expect(run(['__Host-gatehouse_session=r; __host-gatehouse_session=p'], { https: true })).toEqual({ session: 'r', forwarded: undefined });
  });

  it('reads the session cookie by its exact name only: on https the __Host- one, never a bare planted one', () => {
    expect(run(['gatehouse_session=planted; __Host-gatehouse_session=real'], { https: true })).toEqual({ session: 'real', forwarded: undefined });
    expect(run(['Gatehouse_Session=odd-case'])).toEqual({ session: undefined, forwarded: undefined });
  });

  it('two different session cookies are DUPLICATE (cookie tossing); the same value twice is fine', () => {
    expect(run(['gatehouse_session=a; gatehouse_session=b']).session).toBe(DUPLICATE);
    expect(run(['gatehouse_session=a', 'gatehouse_session=a']).session).toBe('a');
    expect(run(['gatehouse_session=a', 'x=1; gatehouse_session=b']).session).toBe(DUPLICATE);
  });

  it('a session cookie without "=" counts as an empty value (refused later), not as its own name', () => {
    expect(run(['gatehouse_session; x=1'])).toEqual({ session: '', forwarded: 'x=1' });
  });

  it('the auth service still gets the device cookies it needs, and never the session or CSRF cookie', () => {
    const r = run(['gatehouse_session=s; gatehouse_device=d; gatehouse_known_device=k; gatehouse_csrf=c; x=1'], { authService: true });
    expect(r).toEqual({ session: 's', forwarded: 'gatehouse_device=d; gatehouse_known_device=k; x=1' });
  });

  it('the federation transaction cookie reaches the auth service only, by its exact name', () => {
    expect(run(['gatehouse_federation=t; x=1'], { authService: true })).toEqual({ session: undefined, forwarded: 'gatehouse_federation=t; x=1' });
    expect(run(['gatehouse_federation=t; x=1'])).toEqual({ session: undefined, forwarded: 'x=1' });
    expect(run(['__Host-gatehouse_federation=t; gatehouse_federation=u; x=1'], { authService: true, https: true })).toEqual({ session: undefined, forwarded: '__Host-gatehouse_federation=t; x=1' });
  });

  it('several Cookie headers are joined with "; " after filtering', () => {
    expect(run(['a=1; gatehouse_session=s', 'b=2', 'gatehouse_csrf=c'])).toEqual({ session: 's', forwarded: 'a=1; b=2' });
  });
});
