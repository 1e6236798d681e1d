import { afterEach, describe, expect, it } from 'vitest';
import { authMetricsOf } from '../auth/auth-metrics.js';
import { sample } from '../util/metrics.test-helpers.js';
import { createGatewayHarness, send, type GatewayHarness } from './test-helpers.js';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('gateway GET /metrics', () => {
  it('has the process and runtime metrics; no auth counters when no auth service runs in this process (split roles)', async () => {
    h = await createGatewayHarness();
    const r = await send(h.url, '/metrics');
    expect(r.status).toBe(200);
    expect(r.body).toContain('process_resident_memory_bytes');
    expect(r.body).toContain('nodejs_heap_size_used_bytes');
    expect(r.body).toContain('gatehouse_gateway_requests_total');
    expect(r.body).not.toContain('gatehouse_signins_total');
  });

  it('merges the auth service counters when both run in one process (gatehouse start)', async () => {
    h = await createGatewayHarness();
    const auth = authMetricsOf(h.deps);
    auth.signin('success');
    auth.grant('refresh_token');
    const r = await send(h.url, '/metrics');
    expect(sample(r.body, 'gatehouse_signins_total', 'outcome="success"')).toBe(1);
    expect(sample(r.body, 'gatehouse_token_grants_total', 'grant_type="refresh_token"')).toBe(1);
    expect(r.body.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
  });
});
