import { afterEach, describe, expect, it } from 'vitest';
import type { RouteConfig } from '../config/types.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';
import { captureLogs } from '../util/log-capture.test-helpers.js';

type Line = Record<string, unknown>;

const capture = (): ReturnType<typeof captureLogs> => captureLogs('info');

const routes = (u: string): RouteConfig[] => [
  { path: '/api/notes', upstream: u, service: 'notes', auth: 'required' },
  { path: '/api/admin', upstream: u, service: 'admin', auth: 'required', roles: ['admin'] },
];

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(access: boolean | undefined): Promise<{ h: GatewayHarness; lines: Line[] }> {
  const { logger, lines } = capture();
  h = await createGatewayHarness({
    routes,
    ...(access !== undefined ? { config: (c) => void (c.log.access = access) } : {}),
    deps: (d) => void (d.logger = logger),
  });
  return { h, lines };
}

/** The access line is written on the response's close, just after the client has read it. */
async function settle(lines: Line[], n: number): Promise<Line[]> {
  for (let i = 0; i < 100 && lines.filter((l) => l.event === 'http.access').length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return lines.filter((l) => l.event === 'http.access');
}

describe('access log (log.access)', () => {
  it('one info line per request: method, path, route, status, duration, user id, request id', async () => {
    const { h, lines } = await harness(true);
    const s = await h.signIn(await h.createUser('ana'));
    const r = await send(h.url, '/api/notes/1?access_token=sekret-in-query&x=1', { headers: [['Cookie', s.cookie], ['x-request-id', 'req-42'], ['Authorization', 'Bearer not-a-real-token-zzz']] });
    await send(h.url, '/api/notes', { method: 'POST', headers: [['Content-Type', 'application/json']], body: '{}' });
    await send(h.url, '/healthz');
    await send(h.url, '/nowhere?password=hunter2');
    const access = await settle(lines, 4);
    expect(r.status).toBeGreaterThan(0);
    expect(access).toHaveLength(4);
    expect(access[0]).toMatchObject({ level: 'info', msg: 'request', method: 'GET', path: '/api/notes/1', route: '/api/notes', status: r.status, requestId: 'req-42' });
    expect(typeof access[0]!.durationMs).toBe('number');
    expect(access[1]).toMatchObject({ method: 'POST', path: '/api/notes', route: '/api/notes', status: 401 });
    expect(access[1]!.userId).toBeUndefined();
    expect(access[2]).toMatchObject({ method: 'GET', path: '/healthz', route: '(gateway)', status: 200 });
    expect(access[3]).toMatchObject({ path: '/nowhere', route: '(unmatched)', status: 404 });
    const all = JSON.stringify(lines);
    for (const secret of [s.secret, 'sekret-in-query', 'not-a-real-token-zzz', 'hunter2', 'x=1']) expect(all).not.toContain(secret);
  });

  it('names the signed-in user (its id, the passport sub), also on a refusal after sign-in', async () => {
    const { h, lines } = await harness(true);
    const ana = await h.createUser('ana');
    const s = await h.signIn(ana);
    const ok = await send(h.url, '/api/notes', { headers: [['Cookie', s.cookie]] });
    const denied = await send(h.url, '/api/admin', { headers: [['Cookie', s.cookie]] });
    const access = await settle(lines, 2);
    expect(ok.status).toBe(200);
    expect(denied.status).toBe(403);
    expect(access[0]).toMatchObject({ route: '/api/notes', status: 200, userId: ana.id });
    expect(access[1]).toMatchObject({ route: '/api/admin', status: 403, userId: ana.id });
  });

  it('is off by default: no access line', async () => {
    const { h, lines } = await harness(undefined);
    expect(h.deps.config.log.access).toBe(false);
    const s = await h.signIn(await h.createUser('ana'));
    await send(h.url, '/api/notes', { headers: [['Cookie', s.cookie]] });
    await send(h.url, '/healthz');
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.filter((l) => l.event === 'http.access')).toEqual([]);
  });
});

describe('refusals at info', () => {
  it('401 and 403 are logged at info with their code, route and path (never the query), access log or not', async () => {
    const { h, lines } = await harness(undefined);
    const s = await h.signIn(await h.createUser('bo'));
    await send(h.url, '/api/notes?token=sekret');
    await send(h.url, '/api/admin', { headers: [['Cookie', s.cookie]] });
    await send(h.url, '/nowhere');
    const refused = lines.filter((l) => l.event === 'http.refused');
    expect(refused).toEqual([
      expect.objectContaining({ level: 'info', code: 'unauthenticated', status: 401, method: 'GET', path: '/api/notes', route: '/api/notes' }),
      expect.objectContaining({ level: 'info', code: 'forbidden', status: 403, path: '/api/admin', route: '/api/admin' }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('sekret');
    expect(JSON.stringify(lines)).not.toContain(s.secret);
  });
});
