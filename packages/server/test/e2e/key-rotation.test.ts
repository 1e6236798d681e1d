import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPassportVerifier, type PassportVerifier } from '@gatehouse/sdk';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TOKEN_LIFETIME_MS } from '../../src/cli/keys-command.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { rotateKeys } from '../../src/crypto/keyring.js';
import { loadOrCreateMasterKey } from '../../src/crypto/master-key.js';
import { startAll, type RunningGatehouse } from '../../src/start/start-all.js';
import { createLogger } from '../../src/util/logger.js';
import { systemClock } from '../../src/util/clock.js';
import { tempDataDir } from './harness.js';

/*
 * `keys rotate` under load, in process (startAll) with real HTTP hops. Production publishes the
 * next key 2 min before it signs, gateways re-read keys every 30 s and SDK verifiers refetch
 * JWKS on an unknown kid at most once per 30 s: 120 > 30 + 30, so every verifier knows the key
 * before the first passport it signs. This test keeps the same ordering, scaled down: publish
 * 2.5 s ahead, key reload every 250 ms, JWKS refetch cooldown 500 ms.
 */
const PUBLISH_AHEAD_MS = 2_500;
const KEY_RELOAD_MS = 250;
const JWKS_COOLDOWN_MS = 500;
const LOAD_MS = 6_500;
const MAX_REQUESTS_PER_LOOP = 3_000;
const PASSWORD = 'rotation passphrase 1';

let gh: RunningGatehouse;
let probe: Server;
let probeVerifier: PassportVerifier | undefined;
/** What the probe service saw: the kid and iat of every passport it verified. */
const probeSeen: Array<{ kid: string; iat: number }> = [];
const dataDir = tempDataDir();

beforeAll(async () => {
  // An upstream of our own that verifies passports with the SDK against the gateway's JWKS
  // (like the demo services) and records each passport's kid.
  probe = createServer((req, res) => {
    const token = req.headers['x-passport'];
    if (typeof token !== 'string' || !probeVerifier) return void res.writeHead(401).end();
    probeVerifier.verify(token).then(
      (claims) => {
        probeSeen.push({ kid: String(decodeProtectedHeader(token).kid), iat: claims.iat });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      },
      () => res.writeHead(401).end(),
    );
  });
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;

  const config = structuredClone(DEFAULTS);
  config.port = 0;
  config.dataDir = dataDir;
  config.logLevel = 'silent';
  // Short passports, so fresh ones are minted (and signed by the new key) during the run.
  config.passport.ttlSec = 4;
  config.passport.renewBeforeSec = 2;
  config.routes = [{ path: '/api/probe', upstream: probeUrl, service: 'probe', auth: 'required' }];
  gh = await startAll({ config, logger: createLogger('silent'), keyReloadMs: KEY_RELOAD_MS, demoVerifier: { jwksCooldownMs: JWKS_COOLDOWN_MS } });
  probeVerifier = createPassportVerifier({ jwksUrl: `${gh.url}/.well-known/jwks.json`, issuer: gh.url, audience: 'probe', jwksCooldownMs: JWKS_COOLDOWN_MS });
}, 30_000);

afterAll(async () => {
  await gh?.close();
  await new Promise<void>((r) => (probe ? probe.close(() => r()) : r()));
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: Record<string, string>, form = false): Promise<Response> {
  return fetch(gh.url + path, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
  });
}

async function accessToken(username: string, deviceId: string): Promise<string> {
  const res = await post('/auth/token', { grant_type: 'password', username, password: PASSWORD, device_id: deviceId }, true);
  if (res.status !== 200) throw new Error(`token ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('key rotation under load', () => {
  it('fails no request; passports minted after activation carry the new kid; old tokens keep working', async () => {
    expect((await post('/auth/signup', { username: 'rotator', password: PASSWORD })).status).toBe(201);
    const signin = await post('/auth/signin', { username: 'rotator', password: PASSWORD });
    expect(signin.status).toBe(200);
    const cookie = signin.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const early = await accessToken('rotator', 'tv');
    const late = await accessToken('rotator', 'tablet');
    const oldKid = decodeProtectedHeader(early).kid!;

    const credentials: Array<Record<string, string>> = [{ cookie }, { cookie }, { authorization: `Bearer ${early}` }, { authorization: `Bearer ${early}` }];
    const paths = ['/api/home/whoami', '/api/notes', '/api/probe'];
    // Every verifier has fetched the JWKS (with only the old key) before the rotation.
    for (const headers of credentials.slice(1, 3)) for (const p of paths) expect((await fetch(gh.url + p, { headers })).status).toBe(200);

    const failures: string[] = [];
    let total = 0;
    const deadline = performance.now() + LOAD_MS;
    const loop = async (headers: Record<string, string>, n: number) => {
      for (let i = 0; i < MAX_REQUESTS_PER_LOOP && performance.now() < deadline; i++) {
        const path = paths[(i + n) % paths.length]!;
        try {
          const res = await fetch(gh.url + path, { headers });
          await res.arrayBuffer();
          total++;
          if (res.status !== 200) failures.push(`${path} ${res.status} (${headers.cookie ? 'cookie' : 'bearer'})`);
        } catch (err) {
          failures.push(`${path} ${String(err)}`);
        }
      }
    };
    const running = Promise.all(credentials.map((c, n) => loop(c, n)));

    await new Promise((r) => setTimeout(r, 1_000));
    const masterKey = await loadOrCreateMasterKey({ configured: null, dataDir: gh.dataDir, required: false });
    const next = await rotateKeys({ store: gh.deps.stores.keys, masterKey: masterKey.key, clock: systemClock, publishAheadMs: PUBLISH_AHEAD_MS, maxTokenLifetimeMs: MAX_TOKEN_LIFETIME_MS });
    expect(next.kid).not.toBe(oldKid);
    await running;

    expect(failures).toEqual([]);
    expect(total).toBeGreaterThan(200);
    expect(Date.now()).toBeGreaterThan(next.activatesAt + 2_000);

    // The new key was published ahead: JWKS lists both; the new one signs now.
    const jwks = (await (await fetch(`${gh.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, next.kid].sort());
    expect(gh.deps.keyring.signingKey().kid).toBe(next.kid);

    // Passports minted after activation (by iat, a full second later) carry the new kid.
    const after = probeSeen.filter((p) => p.iat * 1000 >= next.activatesAt + 1_000);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((p) => p.kid))).toEqual(new Set([next.kid]));
    expect(probeSeen.some((p) => p.kid === oldKid)).toBe(true);

    // Tokens signed by the old key keep verifying until they expire: one used throughout
    // (cached) and one first seen now (verified cold against the retired key).
    expect((await fetch(`${gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${early}` } })).status).toBe(200);
    const cold = await fetch(`${gh.url}/api/home/whoami`, { headers: { authorization: `Bearer ${late}` } });
    expect(cold.status).toBe(200);
    expect(decodeProtectedHeader(late).kid).toBe(oldKid);
    const remote = createRemoteJWKSet(new URL(`${gh.url}/.well-known/jwks.json`));
    await jwtVerify(late, remote, { typ: 'at+jwt', issuer: gh.url, audience: gh.url, algorithms: ['EdDSA'] });

    // New access tokens are signed by the new key.
    const fresh = await accessToken('rotator', 'phone');
    expect(decodeProtectedHeader(fresh).kid).toBe(next.kid);
    expect((await fetch(`${gh.url}/api/notes`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
  }, 30_000);
});
