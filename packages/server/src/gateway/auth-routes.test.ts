import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declaredRoutes, type DeclaredRoute } from '../auth/lanes.js';
import { createAuthHarness, type AuthHarness } from '../auth/test-helpers.js';
import { AUTH_SERVICE } from '../credentials/auth-service.js';
import { authRoutes } from './auth-routes.js';
import { compileRoute, RouteTable } from './routing.js';

/*
 * The contract between the auth service's lanes (auth/lanes.ts: each route declares which
 * credentials it takes, `{ public: true }` for none) and the gateway's routes to it
 * (auth-routes.ts: `auth: 'none'` forwards no passport, `'required'` refuses a request without a
 * credential). Read from both declarations and matched the way the gateway matches (longest
 * prefix), so an endpoint added without its gateway route cannot silently require a credential.
 */

let h: AuthHarness;
let routes: readonly DeclaredRoute[];
const table = new RouteTable(authRoutes('http://auth.invalid').map((r) => compileRoute(r, 1024, true)));
const isPublic = (r: DeclaredRoute): boolean => 'public' in r.lane;
/** A path of the route as a request would name it (`:id` -> a value). */
const samplePath = (url: string): string => url.replace(/:[^/]+/g, 'x');
const label = (r: DeclaredRoute): string => `${r.method} ${r.url}`;

beforeAll(async () => {
  h = await createAuthHarness();
  routes = declaredRoutes(h.app).filter((r) => r.method !== 'HEAD');
});
afterAll(async () => {
  await h?.close();
});

describe('gateway auth routes vs auth-service lanes', () => {
  it('every endpoint that needs no credential is routed by the gateway without requiring one', () => {
    const publicEndpoints = routes.filter((r) => isPublic(r) && r.url.startsWith('/auth'));
    expect(publicEndpoints.length).toBeGreaterThanOrEqual(7);
    const requiring = publicEndpoints
      .map((r) => ({ r, gw: table.match(samplePath(r.url)) }))
      .filter(({ gw }) => gw === undefined || gw.service !== AUTH_SERVICE || (gw.auth !== 'none' && gw.auth !== 'optional'))
      .map(({ r, gw }) => `${label(r)}: gateway route ${gw?.prefix ?? 'none'} (auth ${gw?.auth ?? '-'})`);
    expect(requiring).toEqual([]);
  });

  it('every endpoint that needs a credential gets a passport: its gateway route is not auth none', () => {
    const starved = routes
      .filter((r) => !isPublic(r))
      .map((r) => ({ r, gw: table.match(samplePath(r.url)) }))
      .filter(({ gw }) => gw === undefined || gw.service !== AUTH_SERVICE || gw.auth === 'none')
      .map(({ r, gw }) => `${label(r)}: gateway route ${gw?.prefix ?? 'none'} (auth ${gw?.auth ?? '-'})`);
    expect(starved).toEqual([]);
  });

  it('every gateway route that takes no credential leads to at least one public endpoint (none stale)', () => {
    const open = table.all().filter((gw) => gw.auth === 'none' || gw.auth === 'optional');
    const stale = open.filter((gw) => !routes.some((r) => isPublic(r) && table.match(samplePath(r.url)) === gw)).map((gw) => gw.prefix);
    expect(stale).toEqual([]);
  });

  it("the auth service's own probes (outside /auth) are public and never routed by the gateway", () => {
    const outside = routes.filter((r) => !r.url.startsWith('/auth'));
    expect(outside.map(label).sort()).toEqual(expect.arrayContaining(['GET /healthz']));
    for (const r of outside) {
      expect(isPublic(r), label(r)).toBe(true);
      expect(table.match(samplePath(r.url)), label(r)).toBeUndefined();
    }
  });
});
