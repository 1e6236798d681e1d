import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashSecret } from '../crypto/secrets.js';
import { StoreUnavailableError } from '../errors/index.js';
import { addClient } from '../credentials/clients.js';
import type { RevocationEvent } from '../stores/types.js';
import { removeClientEverywhere } from './client-removal.js';
import { verifyAccessToken } from '../credentials/access-token.js';
import { captureLogs } from '../util/log-capture.test-helpers.js';
import { formatUserCode, normaliseUserCode, USER_CODE_ALPHABET } from './device-flow.js';
import { DEVICE_CODE_GRANT_TYPE } from './grants/device-code.js';
import { createAuthHarness, leakingBodies, mintPassport, passportFor, signinOk, signup, STRONG_PASSWORD, type AuthHarness, type SignedIn } from './test-helpers.js';

/** The device authorization grant (RFC 8628, issue 14 §2): authorize, the /device endpoints, polling, redemption, refresh. */

let h: AuthHarness;
let alice: SignedIn;
let serviceSecret: string;
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  // Every test asks for codes from one address: that limit has a test of its own.
  h = await createAuthHarness({ config: (c) => void (c.device.authorizePerIpPerMinute = 0) });
  serviceSecret = await addClients(h);
  await signup(h.app, 'alice');
  alice = await signinOk(h.app, { username: 'alice', password: STRONG_PASSWORD });
});
afterAll(async () => {
  expect(leakingBodies(h)).toEqual([]);
  await h.close();
});

/** Registers the test's clients; returns the confidential one's secret. */
async function addClients(h: AuthHarness): Promise<string> {
  const grantable = h.deps.config.tokens.defaultScopes;
  const now = h.clock.now();
  const tv = { name: 'Living-room TV app', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read', 'notes:write'], audiences: [] };
  await addClient(h.deps.stores.clients, { ...tv, clientId: 'tv-app' }, grantable, now);
  await addClient(h.deps.stores.clients, { ...tv, clientId: 'other-tv', name: 'Another TV app' }, grantable, now);
  // The CLI refuses refresh_token without device_code; the store keeps what it is given (an older registration).
  await h.deps.stores.clients.create({ ...tv, type: 'public', clientId: 'no-device', grants: ['refresh_token'], service: null, secrets: [], createdAt: now, updatedAt: now, lastUsedAt: null });
  return (await addClient(h.deps.stores.clients, { ...tv, clientId: 'kiosk', name: 'Kiosk', type: 'confidential', grants: ['device_code', 'refresh_token'] }, grantable, now)).secret!;
}

function form(url: string, params: Record<string, string>, ip = '198.51.100.7'): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'POST', url, headers: { ...FORM, 'x-gatehouse-client-ip': ip }, payload: new URLSearchParams(params).toString() });
}

interface Started {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

async function start(params: Record<string, string> = { client_id: 'tv-app' }): Promise<Started> {
  const res = await form('/auth/device/authorize', params);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Started;
}

const poll = (deviceCode: string, client: Record<string, string> = { client_id: 'tv-app' }): Promise<LightMyRequestResponse> =>
  form('/auth/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, ...client });

/** A /device page call as alice's browser session (the gateway has checked cookie and CSRF token). */
async function page(step: 'lookup' | 'approve' | 'deny', userCode: string, ip = '198.51.100.7', who: SignedIn = alice): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method: 'POST',
    url: `/auth/device/${step}`,
    headers: { 'x-passport': await passportFor(h.deps, who), 'x-gatehouse-client-ip': ip },
    payload: { user_code: userCode },
  });
}

function expectOAuthError(res: LightMyRequestResponse, error: string, status = 400): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json() as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description).toMatch(/\S/);
}

describe('user codes', () => {
  it('are compared case-, dash- and space-insensitively, and refused outside the alphabet', () => {
    expect(normaliseUserCode('bcdf-ghjk')).toBe('BCDFGHJK');
    expect(normaliseUserCode(' BCDF GHJK ')).toBe('BCDFGHJK');
    expect(normaliseUserCode('BCDFGHJ')).toBeNull();
    expect(normaliseUserCode('BCDF-GHJA')).toBeNull(); // a vowel
    expect(normaliseUserCode('BCDF-GHJ0')).toBeNull();
    expect(formatUserCode('BCDFGHJK')).toBe('BCDF-GHJK');
    expect(USER_CODE_ALPHABET).toHaveLength(20);
  });
});

describe('POST /auth/device/authorize', () => {
  it('answers a device code, a XXXX-XXXX user code from the 20 letters, where to confirm it, its lifetime and interval; stores only the hash', async () => {
    const res = await form('/auth/device/authorize', { client_id: 'tv-app', scope: 'notes:read', device_name: 'Living-room TV' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const s = res.json() as Started;
    expect(s.device_code).toMatch(/^ghd_[A-Za-z0-9_-]{43}$/);
    expect(s.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(s.verification_uri).toBe('http://127.0.0.1:8080/device');
    expect(s.verification_uri_complete).toBe(`http://127.0.0.1:8080/device?user_code=${s.user_code}`);
    expect([s.expires_in, s.interval]).toEqual([600, 5]);
    const stored = await h.deps.stores.deviceCodes.findByHash(hashSecret(s.device_code));
    expect(stored).toMatchObject({ clientId: 'tv-app', scope: 'notes:read', deviceName: 'Living-room TV', status: 'pending', userCode: normaliseUserCode(s.user_code) });
  });

  it('gives different user codes each time (crypto-random)', async () => {
    const codes = new Set<string>();
    for (let i = 0; i < 8; i++) codes.add((await start()).user_code);
    expect(codes.size).toBe(8);
  });

  it('limits new device codes per client IP (each is a stored row): 429 with Retry-After past device.authorizePerIpPerMinute', async () => {
    const limited = await createAuthHarness({ config: (c) => void (c.device.authorizePerIpPerMinute = 3) });
    try {
      await addClients(limited);
      const ask = (ip: string) =>
        limited.app.inject({ method: 'POST', url: '/auth/device/authorize', headers: { ...FORM, 'x-gatehouse-client-ip': ip }, payload: 'client_id=tv-app' });
      for (let i = 0; i < 3; i++) expect((await ask('203.0.113.1')).statusCode).toBe(200);
      const refused = await ask('203.0.113.1');
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await ask('203.0.113.2')).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('refuses an unknown client, a confidential one without its secret, a client without the grant, a missing client_id and a wider scope', async () => {
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'nobody' }), 'invalid_client', 401);
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'kiosk' }), 'invalid_client', 401);
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'kiosk', client_secret: 'ghc_wrong' }), 'invalid_client', 401);
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'no-device' }), 'unauthorized_client');
    expectOAuthError(await form('/auth/device/authorize', {}), 'invalid_request');
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'tv-app', scope: 'notes:read account' }), 'invalid_scope');
    expectOAuthError(await form('/auth/device/authorize', { client_id: 'tv-app', bogus: 'x' }), 'invalid_request');
  });
});

describe('polling POST /auth/token with the device code', () => {
  it('authorization_pending, then slow_down for a poll sooner than the interval, which grows by 5 s and is stored', async () => {
    const s = await start();
    const hash = hashSecret(s.device_code);
    expectOAuthError(await poll(s.device_code), 'authorization_pending');
    expectOAuthError(await poll(s.device_code), 'slow_down');
    expect((await h.deps.stores.deviceCodes.findByHash(hash))?.intervalSec).toBe(10);
    // Now 10 s: 6 s later is too soon again (15), then waiting 15 s is fine.
    h.clock.advance(6_000);
    expectOAuthError(await poll(s.device_code), 'slow_down');
    expect((await h.deps.stores.deviceCodes.findByHash(hash))?.intervalSec).toBe(15);
    h.clock.advance(15_000);
    expectOAuthError(await poll(s.device_code), 'authorization_pending');
  });

  it('a poll that changes nothing writes nothing', async () => {
    const s = await start();
    const store = h.deps.stores.deviceCodes;
    const writes = [vi.spyOn(store, 'slowDown'), vi.spyOn(store, 'redeem'), vi.spyOn(store, 'decide'), vi.spyOn(store, 'create'), vi.spyOn(h.deps.stores.sessions, 'createReplacingDevice')];
    try {
      for (let i = 0; i < 3; i++) {
        expectOAuthError(await poll(s.device_code), 'authorization_pending');
        h.clock.advance(5_000);
      }
      for (const w of writes) expect(w).not.toHaveBeenCalled();
    } finally {
      for (const w of writes) w.mockRestore();
    }
  });

  it('approved: exactly once an access token and a rotating refresh token of a new device session of that user, with its own sid, did and the device name', async () => {
    const s = await start({ client_id: 'tv-app', device_name: 'Bedroom TV', scope: 'notes:read' });
    const look = await page('lookup', s.user_code.toLowerCase());
    expect(look.statusCode, look.body).toBe(200);
    expect(look.json()).toMatchObject({ user_code: s.user_code, client_id: 'tv-app', client_name: 'Living-room TV app', device_name: 'Bedroom TV', scopes: ['notes:read'] });
    expect((await page('approve', s.user_code.replace('-', ''))).json()).toEqual({ status: 'approved' });

    // Five parallel polls (two instances, a retry): exactly one gets the tokens.
    const answers = await Promise.all(Array.from({ length: 5 }, () => poll(s.device_code)));
    const ok = answers.filter((r) => r.statusCode === 200);
    expect(ok).toHaveLength(1);
    for (const r of answers.filter((x) => x.statusCode !== 200)) expectOAuthError(r, 'invalid_grant');
    const tokens = ok[0]!.json() as { access_token: string; refresh_token: string; scope: string; token_type: string };
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.scope).toBe('notes:read');
    const claims = await verifyAccessToken(h.deps, tokens.access_token);
    expect(claims).toMatchObject({ sub: alice.userId, client_id: 'tv-app', scope: 'notes:read' });
    expect(claims.sid).not.toBe(alice.sid);
    expect(claims.did).not.toBe(alice.deviceId);
    const sessions = await h.deps.stores.sessions.listByUser(alice.userId);
    expect(sessions.find((x) => x.id === claims.sid)).toMatchObject({ deviceId: claims.did, deviceName: 'Bedroom TV', scope: 'notes:read' });

    // Replay after success.
    expectOAuthError(await poll(s.device_code), 'invalid_grant');
    // Used: the page says so in its one sentence.
    expect((await page('lookup', s.user_code)).json()).toMatchObject({ code: 'invalid_user_code' });
  });

  it('a store failing after the code was redeemed gives it back: the next poll gets the tokens, and no stray session is left', async () => {
    const down = () => Promise.reject(new StoreUnavailableError('sessions', new Error('connection refused')));
    for (const [store, method] of [[h.deps.stores.sessions, 'createReplacingDevice'], [h.deps.stores.refreshTokens, 'create']] as const) {
      const s = await start({ client_id: 'tv-app', device_name: `Flaky ${method}` });
      await page('approve', s.user_code);
      const spy = vi.spyOn(store as unknown as Record<string, () => Promise<never>>, method).mockImplementationOnce(down);
      try {
        const failed = await poll(s.device_code);
        expect(failed.statusCode, failed.body).toBe(503);
      } finally {
        spy.mockRestore();
      }
      h.clock.advance(5_000);
      const ok = await poll(s.device_code);
      expect(ok.statusCode, ok.body).toBe(200);
      const sessions = await h.deps.stores.sessions.listByUser(alice.userId);
      expect(sessions.filter((x) => x.deviceName === `Flaky ${method}`)).toHaveLength(1);
    }
  });

  it('denied: access_denied, and no session', async () => {
    const s = await start();
    const before = (await h.deps.stores.sessions.listByUser(alice.userId)).length;
    expect((await page('deny', s.user_code)).json()).toEqual({ status: 'denied' });
    expectOAuthError(await poll(s.device_code), 'access_denied');
    // A later approval cannot turn it round.
    expect((await page('approve', s.user_code)).json()).toMatchObject({ code: 'invalid_user_code' });
    expectOAuthError(await poll(s.device_code), 'access_denied');
    expect(await h.deps.stores.sessions.listByUser(alice.userId)).toHaveLength(before);
  });

  it('expired: expired_token, approved or not; and the page cannot approve it any more', async () => {
    const pending = await start();
    const approved = await start();
    await page('approve', approved.user_code);
    h.clock.advance(600_000);
    expectOAuthError(await poll(pending.device_code), 'expired_token');
    expectOAuthError(await poll(approved.device_code), 'expired_token');
    expect((await page('approve', pending.user_code)).json()).toMatchObject({ code: 'invalid_user_code' });
  });

  it('another client\'s code, an unknown code and a malformed one are invalid_grant; the code stays untouched for its own client', async () => {
    const s = await start();
    expectOAuthError(await poll(s.device_code, { client_id: 'other-tv' }), 'invalid_grant');
    expectOAuthError(await poll(`ghd_${'A'.repeat(43)}`), 'invalid_grant');
    expectOAuthError(await poll('not-a-device-code'), 'invalid_grant');
    // The wrong client's poll started no polling clock for it: the right client is not slowed down.
    expectOAuthError(await poll(s.device_code), 'authorization_pending');
    await page('approve', s.user_code);
    expectOAuthError(await poll(s.device_code, { client_id: 'other-tv' }), 'invalid_grant');
    expect((await poll(s.device_code)).statusCode).toBe(200);
  });

  it('polling needs a client: none (first party), an unknown one, or one without the grant is refused', async () => {
    const s = await start();
    expectOAuthError(await poll(s.device_code, {}), 'invalid_request');
    expectOAuthError(await poll(s.device_code, { client_id: 'nobody' }), 'invalid_client', 401);
    expectOAuthError(await poll(s.device_code, { client_id: 'no-device' }), 'unauthorized_client');
  });

  it('a confidential client\'s code: only that client, with its secret, redeems it', async () => {
    const kiosk = { client_id: 'kiosk', client_secret: serviceSecret };
    const s = await start(kiosk);
    await page('approve', s.user_code);
    expectOAuthError(await poll(s.device_code, { client_id: 'tv-app' }), 'invalid_grant');
    expectOAuthError(await poll(s.device_code, { client_id: 'kiosk' }), 'invalid_client', 401);
    const ok = await poll(s.device_code, kiosk);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(decodeJwt((ok.json() as { access_token: string }).access_token).client_id).toBe('kiosk');
  });
});

describe('how the device session signed in (issue 17)', () => {
  it('starts with the approving session\'s amr and auth_time, carried by its tokens and refreshes', async () => {
    const s = await start({ client_id: 'tv-app', scope: 'notes:read' });
    const authTimeSec = Math.floor(h.clock.now() / 1000) - 120;
    const approver = await mintPassport(h.deps, { sub: alice.userId, username: alice.username, roles: alice.roles, sid: alice.sid, did: alice.deviceId, auth: 'session', amr: ['hwk', 'user', 'mfa'], auth_time: authTimeSec });
    const approved = await h.app.inject({ method: 'POST', url: '/auth/device/approve', headers: { 'x-passport': approver, 'x-gatehouse-client-ip': '198.51.100.7' }, payload: { user_code: s.user_code } });
    expect(approved.json()).toEqual({ status: 'approved' });
    const tokens = (await poll(s.device_code)).json() as { access_token: string; refresh_token: string };
    const claims = await verifyAccessToken(h.deps, tokens.access_token);
    expect([claims.amr, claims.auth_time]).toEqual([['hwk', 'user', 'mfa'], authTimeSec]);
    expect(await h.deps.stores.sessions.findById(claims.sid)).toMatchObject({ amr: ['hwk', 'user', 'mfa'], authTime: authTimeSec * 1000 });
    h.clock.advance(60_000);
    const refreshed = await form('/auth/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'tv-app' });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    const again = await verifyAccessToken(h.deps, (refreshed.json() as { access_token: string }).access_token);
    expect([again.amr, again.auth_time]).toEqual([['hwk', 'user', 'mfa'], authTimeSec]);
  });
});

describe('refresh tokens of a device session', () => {
  async function deviceTokens(): Promise<{ access_token: string; refresh_token: string }> {
    const s = await start();
    await page('approve', s.user_code);
    const res = await poll(s.device_code);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { access_token: string; refresh_token: string };
  }
  const refresh = (token: string, client: Record<string, string>) => form('/auth/token', { grant_type: 'refresh_token', refresh_token: token, ...client });

  it('rotate for their client (by client_id alone), keep the client, and are refused to the first party and to any other client', async () => {
    const t = await deviceTokens();
    expectOAuthError(await refresh(t.refresh_token, {}), 'invalid_grant');
    expectOAuthError(await refresh(t.refresh_token, { client_id: 'gatehouse' }), 'invalid_grant');
    expectOAuthError(await refresh(t.refresh_token, { client_id: 'other-tv' }), 'invalid_grant');
    expectOAuthError(await refresh(t.refresh_token, { client_id: 'kiosk', client_secret: serviceSecret }), 'invalid_grant');
    const res = await refresh(t.refresh_token, { client_id: 'tv-app' });
    expect(res.statusCode, res.body).toBe(200);
    const next = res.json() as { access_token: string; refresh_token: string };
    expect(next.refresh_token).not.toBe(t.refresh_token);
    expect(decodeJwt(next.access_token)).toMatchObject({ client_id: 'tv-app', sid: decodeJwt(t.access_token).sid });
    expect((await refresh(next.refresh_token, { client_id: 'tv-app' })).statusCode).toBe(200);
  });

  it('introspection names the device\'s client for its access and refresh tokens', async () => {
    h.deps.config.introspection.clients = [{ id: 'notes', secretSha256: hashSecret('introspection secret') }];
    const t = await deviceTokens();
    for (const token of [t.access_token, t.refresh_token]) {
      const res = await form('/auth/introspect', { client_id: 'notes', client_secret: 'introspection secret', token });
      expect(res.json()).toMatchObject({ active: true, client_id: 'tv-app', sub: alice.userId });
    }
  });

  it('a first-party refresh token is refused to a registered client; first-party refresh is unchanged', async () => {
    const grant = await form('/auth/token', { grant_type: 'password', username: 'alice', password: STRONG_PASSWORD, device_id: 'alice-cli' });
    const rt = (grant.json() as { refresh_token: string }).refresh_token;
    expectOAuthError(await refresh(rt, { client_id: 'tv-app' }), 'invalid_grant');
    const ok = await refresh(rt, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(decodeJwt((ok.json() as { access_token: string }).access_token).client_id).toBe('gatehouse');
  });

  it('removing its client (clients remove) ends its device sessions for every user: gone from the lists, revoked on the feed, refresh refused, noted in the activity', async () => {
    const grantable = h.deps.config.tokens.defaultScopes;
    await addClient(h.deps.stores.clients, { clientId: 'old-tv', name: 'Old TV app', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'], audiences: [] }, grantable, h.clock.now());
    const viaOldTv = async (): Promise<{ access_token: string; refresh_token: string }> => {
      const s = await start({ client_id: 'old-tv', device_name: 'Bedroom TV' });
      await page('approve', s.user_code);
      const res = await poll(s.device_code, { client_id: 'old-tv' });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { access_token: string; refresh_token: string };
    };
    const [gone1, gone2, kept] = [await viaOldTv(), await viaOldTv(), await deviceTokens()];
    const goneSids = [gone1, gone2].map((t) => decodeJwt(t.access_token).sid as string);
    const keptSid = decodeJwt(kept.access_token).sid as string;
    const events: RevocationEvent[] = [];
    const off = h.deps.feed.subscribe((e) => events.push(e));
    try {
      const before = h.clock.now();
      const { endedSessions } = await removeClientEverywhere(h.deps, 'old-tv');
      expect([...endedSessions].sort()).toEqual([...goneSids].sort());
      const left = (await h.deps.stores.sessions.listByUser(alice.userId)).map((x) => x.id);
      for (const sid of goneSids) expect(left).not.toContain(sid);
      expect(left).toContain(keptSid);
      expect(left).toContain(alice.sid);
      // The client's revocation (which also refuses its users' access tokens at the gateways) and one per session, on the feed and in the log.
      const expected = [{ type: 'client', clientId: 'old-tv', at: before }, ...goneSids.map((sid) => ({ type: 'session', sid, at: before }))];
      expect(events).toEqual(expect.arrayContaining(expected));
      expect(await h.deps.stores.revocations.since(before - 1)).toEqual(expect.arrayContaining(expected));
      expectOAuthError(await refresh(gone1.refresh_token, { client_id: 'old-tv' }), 'invalid_client', 401);
      expect((await refresh(kept.refresh_token, { client_id: 'tv-app' })).statusCode).toBe(200);
      const activity = await h.deps.stores.audit.listByUser(alice.userId, 20);
      expect(activity.filter((e) => e.type === 'session.removed' && e.detail?.reason === 'client_removed').map((e) => e.detail?.sid).sort()).toEqual([...goneSids].sort());
      expect(activity.find((e) => e.detail?.reason === 'client_removed')?.detail).toMatchObject({ client_id: 'old-tv', removed_device_name: 'Bedroom TV' });
      // Unknown now: nothing more is done.
      await expect(removeClientEverywhere(h.deps, 'old-tv')).rejects.toThrow(/No client "old-tv"/);
    } finally {
      off();
    }
  });

  it('a removal racing a redemption (its sweep between the new session and its refresh token) leaves no session of the removed client', async () => {
    const grantable = h.deps.config.tokens.defaultScopes;
    await addClient(h.deps.stores.clients, { clientId: 'racing-tv', name: 'Racing TV', type: 'public', grants: ['device_code', 'refresh_token'], scopes: ['notes:read'], audiences: [] }, grantable, h.clock.now());
    const s = await start({ client_id: 'racing-tv' });
    await page('approve', s.user_code);
    const before = (await h.deps.stores.sessions.listByUser(alice.userId)).map((x) => x.id);
    const tokens = h.deps.stores.refreshTokens;
    const create = tokens.create.bind(tokens);
    // The real store; the removal runs just before the first refresh token is written.
    tokens.create = async (record) => {
      tokens.create = create;
      await removeClientEverywhere(h.deps, 'racing-tv');
      return create(record);
    };
    try {
      expectOAuthError(await poll(s.device_code, { client_id: 'racing-tv' }), 'invalid_client', 401);
    } finally {
      tokens.create = create;
    }
    expect((await h.deps.stores.sessions.listByUser(alice.userId)).map((x) => x.id).sort()).toEqual([...before].sort());
  });

  it('signing the device out (its session removed) ends its refresh token', async () => {
    const t = await deviceTokens();
    const sid = decodeJwt(t.access_token).sid as string;
    const del = await h.app.inject({ method: 'DELETE', url: `/auth/sessions/${sid}`, headers: { 'x-passport': await passportFor(h.deps, alice) } });
    expect(del.statusCode).toBe(204);
    expectOAuthError(await refresh(t.refresh_token, { client_id: 'tv-app' }), 'invalid_grant');
  });
});

describe('the /device endpoints', () => {
  it('a wrong, used or expired code gets one and the same answer', async () => {
    const used = await start();
    await page('approve', used.user_code);
    const expired = await start();
    h.clock.advance(600_001);
    const bodies = new Set<string>();
    for (const code of ['ZZZZ-ZZZZ', used.user_code, expired.user_code, 'not a code']) {
      const res = await page('lookup', code, `203.0.113.${bodies.size + 50}`);
      expect(res.statusCode).toBe(400);
      const { type, title, status, detail, code: c } = res.json() as Record<string, unknown>;
      bodies.add(JSON.stringify({ type, title, status, detail, c }));
    }
    expect(bodies.size).toBe(1);
    expect([...bodies][0]).toMatch(/wrong, expired or already used/);
  });

  it('two approvals of one code: the second gets invalid_user_code; another user cannot take it over', async () => {
    await signup(h.app, 'mallory');
    const mallory = await signinOk(h.app, { username: 'mallory', password: STRONG_PASSWORD });
    const s = await start();
    expect((await page('approve', s.user_code)).statusCode).toBe(200);
    expect((await page('approve', s.user_code, '198.51.100.9', mallory)).json()).toMatchObject({ code: 'invalid_user_code' });
    const res = await poll(s.device_code);
    expect(decodeJwt((res.json() as { access_token: string }).access_token).sub).toBe(alice.userId);
  });

  it('user-code guessing is limited per IP (then 429 even for a right code), right codes do not count, and there is a global limit', async () => {
    // A service of its own: the limits count across the file's other tests otherwise.
    const main = h;
    const mainAlice = alice;
    h = await createAuthHarness({
      config: (c) => {
        c.device.authorizePerIpPerMinute = 0;
        c.device.userCodeFailuresPerIpPerMinute = 4;
        c.device.userCodeFailuresPerMinute = 12;
      },
    });
    try {
      await addClients(h);
      await signup(h.app, 'alice');
      alice = await signinOk(h.app, { username: 'alice', password: STRONG_PASSWORD });
      await guessing();
    } finally {
      await h.close();
      [h, alice] = [main, mainAlice];
    }
  });
});

describe('logs', () => {
  it('the whole flow logs no device code, user code or token (hashes and ids only)', async () => {
    const main = h;
    const mainAlice = alice;
    const { logger, lines } = captureLogs('debug');
    h = await createAuthHarness({ logger });
    try {
      await addClients(h);
      await signup(h.app, 'alice');
      alice = await signinOk(h.app, { username: 'alice', password: STRONG_PASSWORD });
      const s = await start({ client_id: 'tv-app', device_name: 'Logged TV' });
      await poll(s.device_code);
      await page('lookup', s.user_code);
      await page('approve', s.user_code);
      const tokens = (await poll(s.device_code)).json() as { access_token: string; refresh_token: string };
      await form('/auth/token', { grant_type: 'refresh_token', client_id: 'tv-app', refresh_token: tokens.refresh_token });
      const text = JSON.stringify(lines);
      expect(text).toContain('device code redeemed');
      for (const secret of [s.device_code, s.user_code, normaliseUserCode(s.user_code)!, tokens.access_token, tokens.refresh_token]) expect(text).not.toContain(secret);
    } finally {
      await h.close();
      [h, alice] = [main, mainAlice];
    }
  });
});

async function guessing(): Promise<void> {
  {
    const s = await start();
    const ip = '192.0.2.44';
    // Right codes give their point back.
    for (let i = 0; i < 6; i++) expect((await page('lookup', s.user_code, ip)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await page('lookup', 'BBBB-BBBB', ip)).statusCode).toBe(400);
    const limited = await page('lookup', s.user_code, ip);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await page('approve', s.user_code, ip)).statusCode).toBe(429);
    // Another address is not held back by this one...
    expect((await page('lookup', s.user_code, '192.0.2.45')).statusCode).toBe(200);
    // ...until wrong codes from everywhere reach the global limit (12 a minute here, 4 used above).
    let n = 0;
    for (; n < 20; n++) {
      const res = await page('lookup', 'CCCC-CCCC', `192.0.2.${100 + Math.floor(n / 3)}`);
      if (res.statusCode === 429) break;
      expect(res.statusCode).toBe(400);
    }
    expect(n).toBe(8);
    expect((await page('lookup', s.user_code, '192.0.2.200')).statusCode).toBe(429);
  }
}
