/**
 * The respond stage's refusals (issue 13): the one place that turns what a stage threw into an
 * answer. Driven here without sockets, on a recording response, so each kind of refusal is
 * pinned to its status, headers, log line and metric; the gateway tests check the same answers
 * over HTTP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../../context.js';
import { GatehouseError } from '../../../errors/index.js';
import { captureLogs } from '../../../util/log-capture.test-helpers.js';
import { Exchange } from '../../exchange.js';
import { RouteMetrics } from '../../metrics.js';
import type { CompiledRoute } from '../../routing.js';
import { InvalidSessionCookieError, invalidToken, unauthenticated } from '../authenticate/errors.js';
import { AuthorizationRefusal } from '../authorize/authorize.js';
import { BARE_CHALLENGE, INVALID_TOKEN_CHALLENGE, Refusals } from './refusals.js';

interface Written {
  status: number;
  headers: Record<string, unknown>;
  body: string | undefined;
}

function recordingResponse(): { res: ServerResponse; written: Written[] } {
  const written: Written[] = [];
  const res = {
    headersSent: false,
    destroyed: false,
    writeHead(status: number, headers: Record<string, unknown>) {
      written.push({ status, headers, body: undefined });
      this.headersSent = true;
      return this;
    },
    end(body?: string) {
      written[written.length - 1]!.body = body;
      return this;
    },
    setHeader() {
      return this;
    },
    destroy() {
      this.destroyed = true;
      return this;
    },
  };
  return { res: res as unknown as ServerResponse, written };
}

function setup(https = false) {
  const { logger, lines } = captureLogs('info');
  const route = { label: '/api', authService: false } as CompiledRoute;
  const metrics = new RouteMetrics('/api', undefined);
  const deps = { logger, stores: {} } as unknown as Deps;
  const refusals = new Refusals(deps, {
    routeMetrics: new Map([[route, metrics]]),
    unmatched: new RouteMetrics('(unmatched)', undefined),
    access: undefined,
    cookies: { session: 'gatehouse_session', csrf: 'gatehouse_csrf', device: 'gatehouse_device', knownDevice: 'gatehouse_known_device', federation: 'gatehouse_federation' },
    https,
  });
  const refuse = (err: unknown, opts: { method?: string; accept?: string; target?: string } = {}) => {
    const req = { method: opts.method ?? 'GET', url: opts.target ?? '/api/notes?x=1', complete: true, socket: null } as unknown as IncomingMessage;
    const { res, written } = recordingResponse();
    const ex = new Exchange(req, res, route, opts.target ?? '/api/notes?x=1');
    ex.accept = opts.accept;
    refusals.refuse(ex, err);
    expect(written).toHaveLength(1);
    return written[0]!;
  };
  const counted = (): Record<string, number> => {
    const out: Record<string, number> = {};
    metrics.flush((outcome, n) => (out[outcome] = n));
    return out;
  };
  return { refuse, counted, lines };
}

const CLEARED = ['gatehouse_session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax; HttpOnly', 'gatehouse_csrf=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax'];

describe('respond: refusals', () => {
  it('no credential: 401 problem+json with the bare challenge, logged at info and counted', async () => {
    const { refuse, counted, lines } = setup();
    const a = refuse(unauthenticated(), { accept: 'application/json' });
    expect(a.status).toBe(401);
    expect(a.headers['content-type']).toBe('application/problem+json');
    expect(a.headers['www-authenticate']).toBe(BARE_CHALLENGE);
    expect(a.headers['set-cookie']).toBeUndefined();
    expect(JSON.parse(a.body!)).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(counted()).toEqual({ unauthenticated: 1 });
    await tick();
    expect(lines).toContainEqual(expect.objectContaining({ event: 'http.refused', code: 'unauthenticated', status: 401, path: '/api/notes', route: '/api' }));
  });

  it('a refused bearer token: 401 with the invalid_token challenge, no cookie cleared', () => {
    const a = setup().refuse(invalidToken());
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
    expect(a.headers['set-cookie']).toBeUndefined();
  });

  it('a refused session cookie: 401 with the invalid_token challenge and both cookies cleared (Secure on https)', () => {
    const a = setup().refuse(new InvalidSessionCookieError(), { method: 'POST' });
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toBe(INVALID_TOKEN_CHALLENGE);
    expect(a.headers['set-cookie']).toEqual(CLEARED);
    const s = setup(true).refuse(new InvalidSessionCookieError(), { method: 'POST' });
    expect(s.headers['set-cookie']).toEqual(CLEARED.map((c) => c.replace('SameSite=Lax', 'SameSite=Lax; Secure')));
  });

  it('a page request refused for a credential goes to sign-in; an ended session says so and clears its cookies', () => {
    const { refuse, counted } = setup();
    const none = refuse(unauthenticated(), { accept: 'text/html,application/xhtml+xml' });
    expect(none.status).toBe(302);
    expect(none.headers.location).toBe('/signin?next=%2Fapi%2Fnotes%3Fx%3D1');
    expect(none.headers['www-authenticate']).toBeUndefined();
    expect(none.headers['set-cookie']).toBeUndefined();
    const ended = refuse(new InvalidSessionCookieError(), { accept: 'text/html' });
    expect(ended.status).toBe(302);
    expect(ended.headers.location).toBe('/signin?next=%2Fapi%2Fnotes%3Fx%3D1&reason=signed_out');
    expect(ended.headers['set-cookie']).toEqual(CLEARED);
    expect(counted()).toEqual({ redirect_signin: 2 });
    // Not a page: a POST accepting HTML still gets JSON.
    expect(refuse(unauthenticated(), { method: 'POST', accept: 'text/html' }).status).toBe(401);
  });

  it('other refusals: problem+json without a challenge; a missing role is logged with who and what', async () => {
    const { refuse, lines } = setup();
    const forbidden = refuse(new AuthorizationRefusal('/api', 'u1', 'role', 'admin'), { accept: 'text/html' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toBeUndefined();
    const tooLarge = refuse(new GatehouseError('payload_too_large', { detail: 'too big' }), { method: 'POST' });
    expect(tooLarge.status).toBe(413);
    await tick();
    expect(lines).toContainEqual(expect.objectContaining({ event: 'http.refused', code: 'forbidden', user_id: 'u1', missing_role: 'admin' }));
  });
});
