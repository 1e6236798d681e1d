import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../config/defaults.js';
import { loadConfig } from '../config/load-config.js';
import { startAll } from '../start/start-all.js';
import { createLogger } from '../util/logger.js';
import { sample } from '../util/metrics.test-helpers.js';
import { bearerMatcher } from '../crypto/bearer-secret.js';
import { isLoopbackHost, publicDetail } from './admin-access.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';

const SECRET = 'metrics-bearer-secret-0123456789abcdef';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const tmp = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('public /metrics and /readyz', () => {
  it('loopback bind, no admin port, no secret (a newcomer\'s gatehouse start): served in full as before', async () => {
    h = await createGatewayHarness();
    expect((await send(h.url, '/metrics')).status).toBe(200);
    const ready = JSON.parse((await send(h.url, '/readyz')).body) as Record<string, unknown>;
    expect(ready).toHaveProperty('stores');
    expect(ready).toHaveProperty('parts');
  });

  it('a non-loopback bind with neither setting: /metrics 404, /readyz {status} only, /healthz as ever', async () => {
    h = await createGatewayHarness({ config: (c) => void (c.host = '0.0.0.0') });
    const m = await send(h.url, '/metrics');
    expect(m.status).toBe(404);
    expect(m.body).not.toContain('gatehouse_');
    const r = await send(h.url, '/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ready' });
    expect((await send(h.url, '/healthz')).status).toBe(200);
  });

  it('metrics.bearerSecret: the public /metrics and detailed /readyz need Authorization: Bearer <secret>', async () => {
    h = await createGatewayHarness({ config: (c) => void ((c.metrics.bearerSecret = SECRET), (c.host = '0.0.0.0')) });
    const none = await send(h.url, '/metrics');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await send(h.url, '/metrics', { headers: [['Authorization', `Bearer ${SECRET}x`]] })).status).toBe(401);
    expect((await send(h.url, '/metrics', { headers: [['Authorization', 'Bearer short']] })).status).toBe(401);
    const ok = await send(h.url, '/metrics', { headers: [['Authorization', `Bearer ${SECRET}`]] });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('gatehouse_gateway_requests_total');
    expect(JSON.parse((await send(h.url, '/readyz')).body)).toEqual({ status: 'ready' });
    expect(JSON.parse((await send(h.url, '/readyz', { headers: [['Authorization', `bearer ${SECRET}`]] })).body)).toHaveProperty('stores');
  });

  it('the bearer comparison: exact secret only, any length, no throw', () => {
    const m = bearerMatcher(SECRET);
    const req = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as never;
    expect(m(req(`Bearer ${SECRET}`))).toBe(true);
    expect(m(req(`Bearer ${SECRET.slice(1)}`))).toBe(false);
    expect(m(req(`Basic ${SECRET}`))).toBe(false);
    expect(m(req('Bearer '))).toBe(false);
    expect(m(req())).toBe(false);
    expect(isLoopbackHost('127.0.0.1') && isLoopbackHost('::1') && isLoopbackHost('[::1]') && isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0') || isLoopbackHost('10.0.0.5') || isLoopbackHost('::')).toBe(false);
  });

  it('the default is decided by the bind address; an admin port or a secret always closes the public port', () => {
    const c = structuredClone(DEFAULTS);
    expect(publicDetail(c)).toBe('open');
    expect(publicDetail({ ...c, host: '0.0.0.0' })).toBe('closed');
    expect(publicDetail({ ...c, adminPort: 9100 })).toBe('closed');
    expect(publicDetail({ ...c, metrics: { bearerSecret: SECRET } })).toBe('bearer');
  });
});

describe('admin listener (GATEHOUSE_ADMIN_PORT)', () => {
  it('serves /metrics (gateway, auth service and process) and the detailed /readyz; the public port answers 404 and {status}', async () => {
    const config = loadConfig({ env: { GATEHOUSE_ADMIN_PORT: '0', GATEHOUSE_DATA_DIR: join(tmp, 'a') }, overrides: { port: 0 } });
    config.demo = false;
    const running = await startAll({ config, logger: createLogger('silent') });
    try {
      const admin = running.internal.metrics!;
      expect(admin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const pub = running.localUrl;
      expect((await fetch(`${pub}/metrics`)).status).toBe(404);
      expect(await (await fetch(`${pub}/readyz`)).json()).toEqual({ status: 'ready' });

      // A sign-up through the public port is counted on the admin listener (one process, one merged /metrics).
      const signup = await fetch(`${pub}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: pub }, body: JSON.stringify({ username: 'rosa', password: 'vivid-otter-sings-42' }) });
      expect(signup.status).toBe(201);
      const m = await fetch(`${admin}/metrics`);
      expect(m.status).toBe(200);
      const text = await m.text();
      expect(sample(text, 'gatehouse_signups_total', 'outcome="created"')).toBe(1);
      expect(text).toContain('process_cpu_user_seconds_total');
      expect(text).toContain('gatehouse_gateway_requests_total');
      expect(await (await fetch(`${admin}/readyz`)).json()).toHaveProperty('stores');
      expect((await fetch(`${admin}/healthz`)).status).toBe(200);
      expect((await fetch(`${admin}/auth/signup`)).status).toBe(404);
      expect((await fetch(`${admin}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await running.close();
    }
  });
});
