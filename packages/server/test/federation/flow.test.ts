/**
 * The federation endpoints wired (issue 15): `/auth/federation/:provider/start`, `/callback`,
 * `/link` and `/providers`, through the real gateway and auth service (`startAll`), against a
 * real `oidc-provider` whose login is completed over HTTP. Each attack case names the defence
 * it relies on; each was seen failing with that defence removed (see the closing note of the
 * wiring commit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { FederationProviderConfig, GatehouseConfig } from '../../src/config/types.js';
import { createAuthHarness, relaxAbuseLimits } from '../../src/auth/test-helpers.js';
import { startAll, type RunningGatehouse } from '../../src/start/start-all.js';
import { createLogger } from '../../src/util/logger.js';
import { systemClock } from '../../src/util/clock.js';
import { unsealTransaction } from '../../src/auth/federation/transaction.js';
import { freePort, startHostileProvider, startOidcProvider, type HostileProviderHandle, type OidcProviderHandle, type TestUser } from './oidc-provider.test-helpers.js';

const BOB: TestUser = { sub: 'bob-sub-1', email: 'bob@example.com', emailVerified: true, preferredUsername: 'bob', name: 'Bob' };
/** Carol twice at provider B: her verified address, and an account claiming it unverified. */
const CAROL_UNVERIFIED: TestUser = { sub: 'carol-unverified', email: 'carol@example.com', emailVerified: false, preferredUsername: 'carol-u', name: 'Not Carol' };
const CAROL_VERIFIED: TestUser = { sub: 'carol-verified', email: 'carol@example.com', emailVerified: true, preferredUsername: 'carol-v', name: 'Carol' };
const MALLORY: TestUser = { sub: 'mallory-at-a', email: 'mallory@example.com', emailVerified: true, preferredUsername: 'mallory-a', name: 'Mallory' };
const PASSWORD = 'federated passphrase 1';

/** A browser's cookies (name=value), as the gateway sets and clears them. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(res: Response): string[] {
    const lines = res.headers.getSetCookie();
    for (const line of lines) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return lines;
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

let gh: RunningGatehouse;
let dataDir: string;
let a: OidcProviderHandle;
let b: OidcProviderHandle;
let hostile: HostileProviderHandle;
let base: string;

function oidc(id: string, h: { issuer: string; clientId: string; clientSecret: string }, extra: Partial<FederationProviderConfig> = {}): FederationProviderConfig {
  return { id, type: 'oidc', name: `IdP ${id}`, issuer: h.issuer, clientId: h.clientId, clientSecret: h.clientSecret, scopes: ['openid', 'email', 'profile'], allowSignup: true, linkByVerifiedEmail: false, ...extra };
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  a = await startOidcProvider({ redirectUri: `${base}/auth/federation/idp-a/callback`, users: [{ sub: 'alice-sub-1', email: 'alice@example.com', emailVerified: true, preferredUsername: 'alice', name: 'Alice' }, BOB, MALLORY] });
  b = await startOidcProvider({ redirectUri: `${base}/auth/federation/idp-b/callback`, users: [BOB, CAROL_UNVERIFIED, CAROL_VERIFIED] });
  hostile = await startHostileProvider();
  const down = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-federation-'));
  const config: GatehouseConfig = structuredClone(DEFAULTS);
  config.port = port;
  config.publicUrl = base;
  config.dataDir = dataDir;
  config.logLevel = 'silent';
  relaxAbuseLimits(config);
  config.federation.timeoutMs = 500;
  config.federation.providers = [
    oidc('idp-a', a),
    oidc('idp-b', b, { linkByVerifiedEmail: true }),
    oidc('down', { issuer: `http://127.0.0.1:${down}`, clientId: 'c', clientSecret: 's' }),
    oidc('slow', hostile),
  ];
  gh = await startAll({ config, logger: createLogger('silent') });
}, 30_000);

afterAll(async () => {
  await gh?.close();
  await a?.close();
  await b?.close();
  await hostile?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** GET through the gateway as a browser navigation (no redirect following). */
async function nav(jar: Jar, path: string, accept = 'text/html,application/xhtml+xml'): Promise<Response> {
  const res = await fetch(new URL(path, base), { redirect: 'manual', headers: { cookie: jar.header(), accept } });
  jar.take(res);
  return res;
}

/** Starts a sign-in at `provider` and completes the provider's login: the callback URL it sends the browser back to. */
async function toCallback(jar: Jar, provider: 'idp-a' | 'idp-b', user: TestUser, next?: string): Promise<URL> {
  const start = await nav(jar, `/auth/federation/${provider}/start${next === undefined ? '' : `?next=${encodeURIComponent(next)}`}`);
  expect(start.status, await start.clone().text()).toBe(302);
  return (provider === 'idp-a' ? a : b).signIn(start.headers.get('location')!, user);
}

/** A full sign-in: the callback's answer (302 when signed in). */
async function signInWith(jar: Jar, provider: 'idp-a' | 'idp-b', user: TestUser, next?: string): Promise<Response> {
  const callback = await toCallback(jar, provider, user, next);
  expect(callback.origin).toBe(base);
  return nav(jar, callback.pathname + callback.search);
}

async function me(jar: Jar): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/auth/me`, { headers: { cookie: jar.header() } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A password account signed in in `jar`; the CSRF token for its writes. */
async function passwordUser(jar: Jar, username: string): Promise<{ csrf: string; id: string }> {
  await fetch(`${base}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username, password: PASSWORD }) });
  const res = await fetch(`${base}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username, password: PASSWORD }) });
  expect(res.status).toBe(200);
  jar.take(res);
  const body = (await res.json()) as { csrf_token: string; user: { id: string } };
  return { csrf: body.csrf_token, id: body.user.id };
}

async function startLink(jar: Jar, csrf: string, provider: string): Promise<Response> {
  const res = await fetch(`${base}/auth/federation/${provider}/link`, { method: 'POST', headers: { cookie: jar.header(), origin: base, 'x-csrf-token': csrf } });
  jar.take(res);
  return res;
}

const attrs = (line: string | undefined): string[] =>
  (line ?? '')
    .split(';')
    .slice(1)
    .map((s) => s.trim().toLowerCase().replace(/^(max-age|expires)=.*/, '$1'))
    .sort();

describe('federation sign-in through the gateway (real oidc-provider)', () => {
  it('lists the configured providers for the buttons (public)', async () => {
    const res = await fetch(`${base}/auth/federation/providers`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { id: 'idp-a', name: 'IdP idp-a' },
      { id: 'idp-b', name: 'IdP idp-b' },
      { id: 'down', name: 'IdP down' },
      { id: 'slow', name: 'IdP slow' },
    ]);
  });

  it('start: an unknown provider is 404 with a problem saying where the list is', async () => {
    const res = await nav(new Jar(), '/auth/federation/nope/start', 'application/json');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/GET \/auth\/federation\/providers/);
  });

  it('signs in: the session cookies exactly as a password sign-in sets them, /auth/me works, back to next; the transaction cookie is cleared', async () => {
    const jar = new Jar();
    const start = await nav(jar, '/auth/federation/idp-a/start?next=%2Fnotes%3Fx%3D1');
    expect(start.status).toBe(302);
    const txLine = start.headers.getSetCookie().find((l) => l.startsWith('gatehouse_federation='));
    expect(attrs(txLine)).toEqual(['httponly', 'max-age', 'path=/', 'samesite=lax']);
    const callback = await a.signIn(start.headers.get('location')!);
    const res = await nav(jar, callback.pathname + callback.search);
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get('location')).toBe('/notes?x=1');
    const lines = res.headers.getSetCookie();
    expect(lines.find((l) => l.startsWith('gatehouse_federation='))).toMatch(/Max-Age=0/i);
    const who = await me(jar);
    expect(who.status).toBe(200);
    expect(who.body.username).toBe('alice');
    // How: an external provider (issue 17), never a second factor of ours.
    const whoami = await fetch(`${base}/api/home/whoami`, { headers: { cookie: jar.header() } });
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { amr?: unknown }).amr).toEqual(['ext']);

    // The same cookies (names and attributes) as POST /auth/signin sets.
    const pw = new Jar();
    await passwordUser(pw, 'cookie-compare');
    const pwRes = await fetch(`${base}/auth/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ username: 'cookie-compare', password: PASSWORD }) });
    const pwLines = pwRes.headers.getSetCookie();
    for (const name of ['gatehouse_session', 'gatehouse_csrf', 'gatehouse_device', 'gatehouse_known_device']) {
      const fed = lines.find((l) => l.startsWith(`${name}=`));
      expect(fed, name).toBeDefined();
      expect(attrs(fed), name).toEqual(attrs(pwLines.find((l) => l.startsWith(`${name}=`))));
    }

    // One signin.success in the activity log (resolveIdentity records it; the endpoint does not again).
    const activity = await fetch(`${base}/auth/activity`, { headers: { cookie: jar.header() } });
    const list = (await activity.json()) as Array<{ type: string }>;
    expect(list.filter((e) => e.type === 'signin.success')).toHaveLength(1);
  });

  it('a second sign-in of the same provider account lands in the same account', async () => {
    const first = new Jar();
    expect((await signInWith(first, 'idp-a', BOB)).status).toBe(302);
    const second = new Jar();
    expect((await signInWith(second, 'idp-a', BOB)).status).toBe(302);
    const [m1, m2] = [await me(first), await me(second)];
    expect(m1.status).toBe(200);
    expect(m2.body.id).toBe(m1.body.id);
    expect(m2.body.username).toBe(m1.body.username);
  });

  it('login CSRF: a callback without the transaction cookie (or with another sign-in’s) is refused, no session is set', async () => {
    // The attacker's own finished login, sent to a victim's browser.
    const attacker = new Jar();
    const callback = await toCallback(attacker, 'idp-a', BOB);
    const victim = new Jar();
    const res = await nav(victim, callback.pathname + callback.search, 'application/json');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code?: string; type?: string; title: string }).title).toMatch(/did not complete/);
    expect(res.headers.getSetCookie().some((l) => l.startsWith('gatehouse_session='))).toBe(false);
    expect((await me(victim)).status).toBe(401);

    // The victim has a sign-in of its own under way: its transaction does not take the attacker's callback either.
    await nav(victim, '/auth/federation/idp-a/start');
    expect(victim.cookies.has('gatehouse_federation')).toBe(true);
    const html = await nav(victim, callback.pathname + callback.search);
    expect(html.status).toBe(400);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(await html.text()).toMatch(/Back to the sign-in page/);
    expect((await me(victim)).status).toBe(401);
  });

  it('a replayed callback URL is refused, even with the transaction cookie it came with', async () => {
    const jar = new Jar();
    const start = await nav(jar, '/auth/federation/idp-a/start');
    const txCookie = jar.header();
    const callback = await a.signIn(start.headers.get('location')!);
    const path = callback.pathname + callback.search;
    expect((await nav(jar, path)).status).toBe(302);
    // The browser's transaction is gone: the same URL again is refused.
    expect(jar.cookies.has('gatehouse_federation')).toBe(false);
    const again = await fetch(new URL(path, base), { redirect: 'manual', headers: { cookie: jar.header(), accept: 'application/json' } });
    expect(again.status).toBe(400);
    // Someone holding the old transaction cookie too: the code was redeemed once already.
    const replay = await fetch(new URL(path, base), { redirect: 'manual', headers: { cookie: txCookie, accept: 'application/json' } });
    expect(replay.status).toBe(400);
    expect(replay.headers.getSetCookie().some((l) => l.startsWith('gatehouse_session='))).toBe(false);
  });

  it('mix-up: provider B’s answer on provider A’s callback (or A’s transaction at B’s callback) is refused', async () => {
    const jar = new Jar();
    const start = await nav(jar, '/auth/federation/idp-b/start');
    const fromB = await b.signIn(start.headers.get('location')!, BOB);
    // B's code and state, at A's callback, with B's transaction cookie.
    const res = await nav(jar, `/auth/federation/idp-a/callback${fromB.search}`, 'application/json');
    expect(res.status).toBe(400);
    expect(res.headers.getSetCookie().some((l) => l.startsWith('gatehouse_session='))).toBe(false);
    // A's transaction presented at B's callback.
    const jarA = new Jar();
    const startA = await nav(jarA, '/auth/federation/idp-a/start');
    const fromA = await a.signIn(startA.headers.get('location')!, BOB);
    expect((await nav(jarA, `/auth/federation/idp-b/callback${fromA.search}`, 'application/json')).status).toBe(400);
    expect((await me(jarA)).status).toBe(401);
  });

  it('a provider that refuses (access_denied) and an unknown provider at the callback: refused, nothing set', async () => {
    const jar = new Jar();
    const start = await nav(jar, '/auth/federation/idp-a/start');
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const denied = await nav(jar, `/auth/federation/idp-a/callback?error=access_denied&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(a.issuer)}`, 'application/json');
    expect(denied.status).toBe(400);
    expect((await nav(new Jar(), '/auth/federation/nope/callback?code=x&state=y', 'application/json')).status).toBe(404);
  });

  it.each([
    ['https://evil.example/x'],
    ['//evil.example/x'],
    ['/\\evil.example/x'],
    ['/\t/evil.example/x'],
    ['javascript:alert(1)'],
    ['http:evil.example'],
  ])('never redirects off-site: next=%j ends at / (checked at the start, and again at the callback)', async (next) => {
    const jar = new Jar();
    const start = await nav(jar, `/auth/federation/idp-a/start?next=${encodeURIComponent(next)}`);
    expect(start.status).toBe(302);
    // What the start sealed: already `/`.
    const tx = await unsealTransaction(gh.deps.federationKey, jar.cookies.get('gatehouse_federation'), { id: 'idp-a', name: 'IdP idp-a' }, systemClock);
    expect(tx.next).toBe('/');
    const callback = await a.signIn(start.headers.get('location')!, BOB);
    const res = await nav(jar, callback.pathname + callback.search);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
  });

  it('provider down: 503 problem+json with Retry-After for a client, an HTML page for a browser, both at once', async () => {
    const t0 = performance.now();
    const json = await nav(new Jar(), '/auth/federation/down/start', 'application/json');
    expect(json.status).toBe(503);
    expect(json.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await json.json()) as { title: string }).title).toMatch(/unavailable/);
    const html = await nav(new Jar(), '/auth/federation/down/start');
    expect(html.status).toBe(503);
    expect(html.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toMatch(/unavailable/);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('provider slow: a callback whose token endpoint hangs answers 503 after federation.timeoutMs, no hang (slow discovery: oidc.test.ts)', async () => {
    hostile.delays.token = 5_000;
    const jar = new Jar();
    const start = await nav(jar, '/auth/federation/slow/start', 'application/json');
    expect(start.status).toBe(302);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const t0 = performance.now();
    const res = await nav(jar, `/auth/federation/slow/callback?code=c1&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(hostile.issuer)}`, 'application/json');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(performance.now() - t0).toBeLessThan(2_500);
    hostile.delays.token = 0;
  });

  it('an unverified email matching an existing account does not link (linkByVerifiedEmail on), a verified one does', async () => {
    // Carol's account: her identity at provider A records her verified address.
    const carolJar = new Jar();
    const carol = await passwordUser(carolJar, 'carol');
    await gh.deps.stores.identities.link({ provider: 'idp-a', subject: 'carol-at-a', userId: carol.id, email: 'carol@example.com', emailVerified: true, createdAt: 0, lastUsedAt: 0 });

    const intruder = new Jar();
    expect((await signInWith(intruder, 'idp-b', CAROL_UNVERIFIED)).status).toBe(302);
    const who = await me(intruder);
    expect(who.status).toBe(200);
    expect(who.body.username).not.toBe('carol');
    expect((await gh.deps.stores.identities.findBySubject('idp-b', CAROL_UNVERIFIED.sub))?.userId).not.toBe(carol.id);

    // The control: the provider's verified word links (so the check above can see a link).
    const real = new Jar();
    expect((await signInWith(real, 'idp-b', CAROL_VERIFIED)).status).toBe(302);
    expect((await me(real)).body.username).toBe('carol');
  });
});

describe('linking a provider to the signed-in account', () => {
  it('links through POST /link then the callback with the same session; listed under the sign-in methods', async () => {
    const jar = new Jar();
    const dan = await passwordUser(jar, 'dan');
    const started = await startLink(jar, dan.csrf, 'idp-b');
    expect(started.status, await started.clone().text()).toBe(200);
    const { url } = (await started.json()) as { url: string };
    const callback = await b.signIn(url, BOB);
    const res = await nav(jar, callback.pathname + callback.search);
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get('location')).toBe('/account');
    expect((await gh.deps.stores.identities.findBySubject('idp-b', BOB.sub))?.userId).toBe(dan.id);
  });

  it('POST /link without the CSRF token is refused by the gateway', async () => {
    const jar = new Jar();
    await passwordUser(jar, 'erin');
    const res = await fetch(`${base}/auth/federation/idp-a/link`, { method: 'POST', headers: { cookie: jar.header(), origin: base } });
    expect(res.status).toBe(403);
  });

  it('linking CSRF: a link started by account A and finished with B’s session is refused, nothing is linked', async () => {
    const attacker = new Jar();
    const mallory = await passwordUser(attacker, 'mallory');
    const started = await startLink(attacker, mallory.csrf, 'idp-a');
    const { url } = (await started.json()) as { url: string };
    const cb = await a.signIn(url, MALLORY);
    const victim = new Jar();
    const vic = await passwordUser(victim, 'victor');
    // The victim's browser carries the attacker's transaction (cookie tossing) and its own session.
    victim.cookies.set('gatehouse_federation', attacker.cookies.get('gatehouse_federation')!);
    const res = await nav(victim, cb.pathname + cb.search, 'application/json');
    expect(res.status, await res.clone().text()).toBe(400);
    expect(await gh.deps.stores.identities.findBySubject('idp-a', MALLORY.sub)).toBeNull();
    expect(vic.id).not.toBe(mallory.id);
    // And with no session at all.
    const anon = new Jar();
    anon.cookies.set('gatehouse_federation', attacker.cookies.get('gatehouse_federation')!);
    expect((await nav(anon, cb.pathname + cb.search, 'application/json')).status).toBe(400);
  });
});

describe('per-IP limit on callbacks', () => {
  it('the sign-in per-IP rule (signin.perIpPerMinute) counts callbacks too: 429 with Retry-After past it', async () => {
    const downPort = await freePort();
    const h = await createAuthHarness({
      config: (c) => {
        c.signin.perIpPerMinute = 2;
        c.federation.providers = [oidc('idp-x', { issuer: `http://127.0.0.1:${downPort}`, clientId: 'c', clientSecret: 's' })];
      },
    });
    try {
      const call = () => h.app.inject({ method: 'GET', url: '/auth/federation/idp-x/callback?code=c&state=s', headers: { accept: 'application/json' } });
      expect((await call()).statusCode).toBe(400);
      expect((await call()).statusCode).toBe(400);
      const limited = await call();
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await h.close();
    }
  });
});
