import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample } from '../util/metrics.test-helpers.js';
import { REFRESH_REUSE_GRACE_MS } from './refresh-token.js';
import { createAuthHarness, passportFor, signin, signinOk, signup, STRONG_PASSWORD, type AuthHarness } from './test-helpers.js';

let h: AuthHarness;
beforeAll(async () => {
  h = await createAuthHarness();
});
afterAll(async () => {
  await h.close();
});

async function scrape(): Promise<string> {
  const res = await h.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return res.body;
}

function token(params: Record<string, string>) {
  return h.app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(params).toString() });
}

/** Runs `action` and returns how much each sample moved. */
async function moved(samples: Array<[string, string?]>, action: () => Promise<unknown>): Promise<number[]> {
  const before = await scrape();
  await action();
  const after = await scrape();
  return samples.map(([n, l]) => sample(after, n, l) - sample(before, n, l));
}

describe('auth service GET /metrics (its internal port)', () => {
  it('process and runtime metrics (prom-client default collectors) and the hashing queue', async () => {
    const text = await scrape();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toMatch(/^gatehouse_password_hash_queue\{state="running"\} \d+$/m);
    expect(text).toMatch(/^gatehouse_password_hash_queue\{state="queued"\} \d+$/m);
  });

  it('sign-ups: created and refused', async () => {
    expect(await moved([['gatehouse_signups_total', 'outcome="created"']], () => signup(h.app, 'mira'))).toEqual([1]);
    expect(await moved([['gatehouse_signups_total', 'outcome="refused"'], ['gatehouse_signups_total', 'outcome="created"']], () => signup(h.app, 'mira'))).toEqual([1, 0]);
  });

  it('sign-ins by outcome: success, failure, locked; each waits in the hashing queue', async () => {
    await signup(h.app, 'nils');
    const [ok, waits] = await moved(
      [['gatehouse_signins_total', 'outcome="success"'], ['gatehouse_password_hash_wait_seconds_count', 'lane="normal"']],
      () => signinOk(h.app, { username: 'nils', password: STRONG_PASSWORD }),
    );
    expect(ok).toBe(1);
    expect(waits).toBeGreaterThanOrEqual(1);
    const max = h.deps.config.signin.maxFailures;
    expect(
      await moved([['gatehouse_signins_total', 'outcome="failure"']], async () => {
        for (let i = 0; i < max; i++) expect((await signin(h.app, { username: 'nils', password: 'wrong-password-x' })).statusCode).toBe(401);
      }),
    ).toEqual([max]);
    const [locked, failures] = await moved([['gatehouse_signins_total', 'outcome="locked"'], ['gatehouse_signins_total', 'outcome="failure"']], async () => {
      expect((await signin(h.app, { username: 'nils', password: STRONG_PASSWORD })).statusCode).toBe(429);
    });
    expect([locked, failures]).toEqual([1, 0]);
  });

  it('token grants by grant type, refresh reuse detected, revocations', async () => {
    await signup(h.app, 'olga');
    let first = '';
    expect(
      await moved([['gatehouse_token_grants_total', 'grant_type="password"'], ['gatehouse_signins_total', 'outcome="success"']], async () => {
        const res = await token({ grant_type: 'password', username: 'olga', password: STRONG_PASSWORD, device_id: 'tv-1' });
        expect(res.statusCode).toBe(200);
        first = (res.json() as { refresh_token: string }).refresh_token;
      }),
    ).toEqual([1, 1]);
    expect(await moved([['gatehouse_token_grants_total', 'grant_type="refresh_token"']], async () => expect((await token({ grant_type: 'refresh_token', refresh_token: first })).statusCode).toBe(200))).toEqual([1]);
    h.clock.advance(REFRESH_REUSE_GRACE_MS + 1);
    const [reuse, revoked, grants] = await moved(
      [['gatehouse_refresh_reuse_detected_total'], ['gatehouse_revocations_total', 'kind="session"'], ['gatehouse_token_grants_total', 'grant_type="refresh_token"']],
      async () => expect((await token({ grant_type: 'refresh_token', refresh_token: first })).statusCode).toBe(400),
    );
    expect([reuse, revoked, grants]).toEqual([1, 1, 0]);

    await signup(h.app, 'pia');
    const s = await signinOk(h.app, { username: 'pia', password: STRONG_PASSWORD });
    const passport = await passportFor(h.deps, s);
    expect(await moved([['gatehouse_revocations_total', 'kind="session"']], async () => expect((await h.app.inject({ method: 'POST', url: '/auth/signout', headers: { 'x-passport': passport } })).statusCode).toBe(204))).toEqual([1]);
  });
});

describe('sign-ups challenged', () => {
  it('a sign-up without the required proof-of-work counts as challenged', async () => {
    const hh = await createAuthHarness({ config: (c) => void (c.signup.challenge = 'pow') });
    try {
      const res = await signup(hh.app, 'quinn');
      expect(res.statusCode).toBe(400);
      const text = (await hh.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(sample(text, 'gatehouse_signups_total', 'outcome="challenged"')).toBe(1);
      expect(sample(text, 'gatehouse_signups_total', 'outcome="created"')).toBe(0);
    } finally {
      await hh.close();
    }
  });
});

describe('metrics.bearerSecret on the auth service', () => {
  it('its /metrics answers only with the bearer secret', async () => {
    const secret = 'auth-metrics-bearer-secret-0123456789';
    const hh = await createAuthHarness({ config: (c) => void (c.metrics.bearerSecret = secret) });
    try {
      const none = await hh.app.inject({ method: 'GET', url: '/metrics' });
      expect(none.statusCode).toBe(401);
      expect(none.body).not.toContain('gatehouse_');
      expect((await hh.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
      const ok = await hh.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${secret}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('gatehouse_signins_total');
    } finally {
      await hh.close();
    }
  });
});
