import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../util/logger.js';
import { KNOWN_DEVICE_COOKIE } from './device-cookie.js';
import { REFRESH_REUSE_GRACE_MS } from './refresh-token.js';
import {
  createAuthHarness,
  leakingBodies,
  mintPassport,
  passportFor,
  signin,
  signinOk,
  signup,
  STRONG_PASSWORD,
  type AuthHarness,
  type SignedIn,
} from './test-helpers.js';
import { jsonLineSink } from '../util/log-capture.test-helpers.js';

const UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
const NEW_PASSWORD = 'brisk-heron-dances-73';
const WRONG_PASSWORD = 'wrong-guess-Qz81x';
/** Looks like a password typed into the username box: must never be stored or logged. */
const UNKNOWN_NAME = 'Tr0ub4dor-and-3';

let h: AuthHarness;
const logLines: Array<Record<string, unknown>> = [];
const secrets: Record<string, string> = {};

beforeAll(async () => {
  const sink = jsonLineSink(logLines);
  h = await createAuthHarness({ logger: createLogger('info', sink) });
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

async function activity(s: SignedIn): Promise<Array<Record<string, unknown>>> {
  const res = await h.app.inject({ method: 'GET', url: '/auth/activity', headers: { 'x-passport': await passportFor(h.deps, s) } });
  expect(res.statusCode).toBe(200);
  expect(res.headers['cache-control']).toBe('no-store');
  return res.json() as Array<Record<string, unknown>>;
}

function asUser(s: SignedIn): Promise<Record<string, string>> {
  return passportFor(h.deps, s).then((p) => ({ 'x-passport': p, 'user-agent': UA, 'x-gatehouse-client-ip': '203.0.113.10' }));
}

function tokenForm(params: Record<string, string>): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: '/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'GatehouseTV/2.1', 'x-gatehouse-client-ip': '203.0.113.11' },
    payload: new URLSearchParams(params).toString(),
  });
}

describe('security events and GET /auth/activity', () => {
  let walt: SignedIn;
  let other: SignedIn;

  it('records a full account flow, with time, IP, device and user agent, newest first', async () => {
    const headers = { 'user-agent': UA, 'x-gatehouse-client-ip': '203.0.113.10', 'x-forwarded-for': '10.9.9.9' };
    expect((await h.app.inject({ method: 'POST', url: '/auth/signup', headers, payload: { username: 'Walt', password: STRONG_PASSWORD } })).statusCode).toBe(201);
    expect((await signup(h.app, 'Olga')).statusCode).toBe(201);
    secrets.password = STRONG_PASSWORD;

    expect((await signin(h.app, { username: 'walt', password: WRONG_PASSWORD, device_id: 'laptop-1' }, headers)).statusCode).toBe(401);
    secrets.wrong = WRONG_PASSWORD;
    walt = await signinOk(h.app, { username: 'walt', password: STRONG_PASSWORD, device_id: 'laptop-1', device_name: 'Laptop' }, headers);
    secrets.session = walt.secret;
    const knownDevice = walt.res.cookies.find((c) => c.name === KNOWN_DEVICE_COOKIE)!.value;
    secrets.knownDevice = knownDevice;
    other = await signinOk(h.app, { username: 'olga', password: STRONG_PASSWORD });

    // A second device (password grant), then its refresh token replayed late: theft.
    const grant = await tokenForm({ grant_type: 'password', username: 'walt', password: STRONG_PASSWORD, device_id: 'tv-1' });
    expect(grant.statusCode).toBe(200);
    const { refresh_token: rt1, access_token: at1 } = grant.json() as { refresh_token: string; access_token: string };
    secrets.refresh = rt1;
    secrets.access = at1;
    const rotated = await tokenForm({ grant_type: 'refresh_token', refresh_token: rt1 });
    expect(rotated.statusCode).toBe(200);
    secrets.refresh2 = (rotated.json() as { refresh_token: string }).refresh_token;
    h.clock.advance(REFRESH_REUSE_GRACE_MS + 1000);
    expect((await tokenForm({ grant_type: 'refresh_token', refresh_token: rt1 })).statusCode).toBe(400);

    // API token created and deleted.
    const created = await h.app.inject({ method: 'POST', url: '/auth/api-tokens', headers: await asUser(walt), payload: { name: 'deploy' } });
    expect(created.statusCode).toBe(201);
    const { id: tokenId, token } = created.json() as { id: string; token: string };
    secrets.apiToken = token;
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/api-tokens/${tokenId}`, headers: await asUser(walt) })).statusCode).toBe(204);

    // Another browser session, removed from the first; then a password change; then sign-out.
    const phone = await signinOk(h.app, { username: 'walt', password: STRONG_PASSWORD, device_id: 'phone-1' });
    secrets.phone = phone.secret;
    expect((await h.app.inject({ method: 'DELETE', url: `/auth/sessions/${phone.sid}`, headers: await asUser(walt) })).statusCode).toBe(204);
    const changed = await h.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: await asUser(walt),
      payload: { current_password: STRONG_PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(changed.statusCode).toBe(204);
    secrets.newPassword = NEW_PASSWORD;
    const again = await signinOk(h.app, { username: 'walt', password: NEW_PASSWORD, device_id: 'desk-1' }, headers);
    secrets.again = again.secret;
    expect((await h.app.inject({ method: 'POST', url: '/auth/signout', headers: await asUser(walt) })).statusCode).toBe(204);
    expect((await h.app.inject({ method: 'POST', url: '/auth/signout-all', headers: await asUser(again) })).statusCode).toBe(204);

    const events = await activity(again);
    expect(events.map((e) => e.type)).toEqual([
      'signout_all',
      'signout',
      'signin.success',
      'password.changed',
      'session.removed',
      'signin.success',
      'api_token.deleted',
      'api_token.created',
      'refresh.reuse_detected',
      'signin.success',
      'signin.success',
      'signin.failure',
      'signup',
    ]);
    const byType = (t: string) => events.find((e) => e.type === t)!;
    expect(byType('signup')).toMatchObject({ ip: '203.0.113.10', user_agent: UA, device_id: null, detail: null });
    expect(byType('signin.failure')).toMatchObject({
      ip: '203.0.113.10',
      device_id: 'laptop-1',
      user_agent: UA,
      detail: { via: 'signin', reason: 'wrong_password', known_device: false },
    });
    const firstSignin = events[events.length - 3]!;
    expect(firstSignin).toMatchObject({ type: 'signin.success', device_id: 'laptop-1', detail: { via: 'signin', sid: walt.sid } });
    expect(new Date(firstSignin.at as string).toISOString()).toBe(firstSignin.at);
    expect(events[events.length - 4]).toMatchObject({ type: 'signin.success', device_id: 'tv-1', user_agent: 'GatehouseTV/2.1', detail: { via: 'password_grant' } });
    expect(byType('refresh.reuse_detected')).toMatchObject({ device_id: 'tv-1', ip: '203.0.113.11', detail: { session_ended: true } });
    expect(byType('api_token.created').detail).toMatchObject({ token_id: tokenId, name: 'deploy' });
    expect(byType('session.removed').detail).toMatchObject({ sid: phone.sid, removed_device_id: 'phone-1', current: false });
    // Never the client's X-Forwarded-For.
    expect(JSON.stringify(events)).not.toContain('10.9.9.9');
    for (const e of events) expect(Object.keys(e).sort()).toEqual(['at', 'detail', 'device_id', 'ip', 'type', 'user_agent']);

    // Every event also went to the log at info, as structured JSON.
    const logged = logLines.filter((l) => l.userId === walt.userId).map((l) => l.event);
    for (const t of new Set(events.map((e) => e.type))) expect(logged).toContain(t);
    expect(logLines.find((l) => l.event === 'signin.failure' && l.userId === walt.userId)?.level).toBe('info');
  });

  it('shows each user only their own events', async () => {
    const mine = await activity(other);
    expect(mine.map((e) => e.type)).toEqual(['signin.success', 'signup']);
    const anonymous = await h.app.inject({ method: 'GET', url: '/auth/activity' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('records a lock once, not once per refused guess', async () => {
    for (let i = 0; i < 5; i++) await signin(h.app, { username: 'olga', password: WRONG_PASSWORD });
    for (let i = 0; i < 3; i++) expect((await signin(h.app, { username: 'olga', password: WRONG_PASSWORD })).statusCode).toBe(429);
    const events = await activity(other);
    expect(events.filter((e) => e.type === 'signin.locked')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'signin.failure')).toHaveLength(5);
    expect(events[0]).toMatchObject({ type: 'signin.locked', detail: { via: 'signin', known_device: false } });
  });

  it('lists at most 50, newest first', async () => {
    const now = h.clock.now();
    for (let i = 0; i < 60; i++) {
      await h.deps.stores.audit.append({ id: `bulk-${i}`, userId: other.userId, type: 'signout', at: now + 1000 + i, ip: null, deviceId: null, userAgent: null, detail: null });
    }
    const events = await activity(other);
    expect(events).toHaveLength(50);
    expect(events[0]!.at).toBe(new Date(now + 1059).toISOString());
  });

  it('never records or logs an unknown username, only username_known: false', async () => {
    const before = logLines.length;
    expect((await signin(h.app, { username: UNKNOWN_NAME, password: WRONG_PASSWORD })).statusCode).toBe(401);
    const lines = logLines.slice(before);
    expect(lines).toContainEqual(expect.objectContaining({ event: 'signin.failure', username_known: false }));
    expect(JSON.stringify(lines).toLowerCase()).not.toContain(UNKNOWN_NAME.toLowerCase());
    secrets.unknownName = UNKNOWN_NAME;
    secrets.unknownNameCanonical = UNKNOWN_NAME.toLowerCase();
  });

  it('no secret reaches the database file or the log', async () => {
    const passport = await mintPassport(h.deps, { sub: walt.userId, username: 'Walt', roles: [] });
    expect((await h.app.inject({ method: 'GET', url: '/auth/activity', headers: { 'x-passport': passport } })).statusCode).toBe(200);
    const file = join(h.deps.config.dataDir, 'gatehouse.db');
    const raw = Buffer.concat([file, `${file}-wal`, `${file}-shm`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    expect(raw.includes(Buffer.from('signin.success'))).toBe(true); // the events are there
    expect(Object.keys(secrets).length).toBeGreaterThanOrEqual(12);
    const log = JSON.stringify(logLines);
    for (const [name, value] of Object.entries(secrets)) {
      expect(raw.includes(Buffer.from(value)), `${name} in the database`).toBe(false);
      expect(log.includes(value), `${name} in the log`).toBe(false);
    }
  });
});
