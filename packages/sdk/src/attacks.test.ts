import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPassportVerifier } from './index.js';
import type { PassportVerifier } from './index.js';
import {
  AUDIENCE,
  ISSUER,
  b64url,
  defaultClaims,
  hs256Token,
  jwksOf,
  makeKey,
  rawToken,
  signPassport,
  signRaw,
  startCountingServer,
  startJwksServer,
} from './jwks-server.test-helpers.js';
import type { CountingServer, JwksServer, TestKey } from './jwks-server.test-helpers.js';

let key: TestKey;
let attacker: TestKey;
let jwks: JwksServer;
let evil: CountingServer;
let verifier: PassportVerifier;
const nowSec = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  key = await makeKey('k1');
  attacker = await makeKey('evil');
  jwks = await startJwksServer([key]);
  // A second listener serving the attacker's key set: a verifier must never ask it anything.
  evil = await startCountingServer(() => ({ status: 200, body: JSON.stringify(jwksOf(attacker, { ...attacker, publicJwk: { ...attacker.publicJwk, kid: 'k1' } })) }));
  verifier = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheMax: 0 });
  // Warm the key set so that the counters below measure only what the attacks cause.
  await verifier.verify(await signPassport(key));
});
beforeEach(() => {
  jwks.requests = 0;
});
afterAll(async () => {
  await jwks.close();
  await evil.close();
});

async function expectInvalid(token: string | Promise<string>): Promise<void> {
  await expect(verifier.verify(await token)).rejects.toMatchObject({ name: 'PassportError', status: 401 });
}

describe('attacks on the passport verifier', () => {
  it('control: the real key works', async () => {
    await expect(verifier.verify(await signPassport(key))).resolves.toMatchObject({ sub: 'user-1' });
  });

  it('refuses alg none in every spelling, with or without a signature', async () => {
    const payload = defaultClaims(nowSec());
    for (const alg of ['none', 'None', 'NONE', 'nOnE', '', null]) {
      for (const kid of ['k1', undefined]) {
        const header = { alg, typ: 'passport+jwt', kid };
        await expectInvalid(rawToken(header, payload));
        await expectInvalid(rawToken(header, payload, 'AAAA'));
        // A real EdDSA signature pasted under an alg none header.
        const real = (await signPassport(key)).split('.')[2];
        await expectInvalid(rawToken(header, payload, real));
      }
    }
    await expectInvalid(rawToken({ typ: 'passport+jwt', kid: 'k1' }, payload));
    expect(jwks.requests).toBe(0);
  });

  it('refuses HS256 signed with the public key in any encoding', async () => {
    const payload = defaultClaims(nowSec());
    const x = String(key.publicJwk.x);
    const publicKey = createPublicKey({ key: key.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' });
    const secrets: (Buffer | string)[] = [
      Buffer.from(x, 'base64url'),
      x,
      JSON.stringify(key.publicJwk),
      JSON.stringify(jwksOf(key)),
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      publicKey.export({ type: 'spki', format: 'der' }),
    ];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS384', 'HS512']) {
        await expectInvalid(hs256Token({ alg, typ: 'passport+jwt', kid: 'k1' }, payload, secret));
      }
    }
    expect(jwks.requests).toBe(0);
  });

  it('refuses other algorithms named by the token', async () => {
    for (const alg of ['RS256', 'ES256', 'PS256', 'Ed25519', 'eddsa']) {
      await expectInvalid(signRaw(key, { alg, typ: 'passport+jwt', kid: 'k1' }, defaultClaims(nowSec())));
    }
  });

  it('ignores an embedded jwk of an attacker key', async () => {
    await expectInvalid(signPassport(attacker, { header: { jwk: attacker.publicJwk, kid: 'k1' } }));
    await expectInvalid(signPassport(attacker, { header: { jwk: attacker.publicJwk, kid: 'evil' } }));
    await expectInvalid(signPassport(attacker, { header: { jwk: attacker.publicJwk, kid: undefined } }));
    // Even a genuine signature is refused when the header carries a jwk.
    await expectInvalid(signPassport(key, { header: { jwk: key.publicJwk } }));
  });

  it('never follows jku or x5u, and refuses x5c', async () => {
    for (const param of ['jku', 'x5u']) {
      await expectInvalid(signPassport(attacker, { header: { [param]: `${evil.url}/jwks.json`, kid: 'evil' } }));
      await expectInvalid(signPassport(attacker, { header: { [param]: `${evil.url}/jwks.json`, kid: 'k1' } }));
      await expectInvalid(signPassport(key, { header: { [param]: `${evil.url}/jwks.json` } }));
    }
    await expectInvalid(signPassport(attacker, { header: { x5c: ['MIIB'], kid: 'k1' } }));
    expect(evil.requests).toBe(0);
  });

  it('refuses a path-like or non-string kid without fetching anything', async () => {
    for (const kid of ['../../x', '..', '../k1', '/etc/passwd', 'k1/../k1', 'http://evil/k', 'k1\u0000', 'k 1', '', 'a'.repeat(200)]) {
      await expectInvalid(signPassport(key, { header: { kid } }));
    }
    for (const kid of [1, 0, null, true, ['k1'], { kid: 'k1' }]) {
      await expectInvalid(signRaw(key, { alg: 'EdDSA', typ: 'passport+jwt', kid }, defaultClaims(nowSec())));
    }
    await expectInvalid(signPassport(key, { header: { kid: undefined } }));
    expect(jwks.requests).toBe(0);
  });

  it('refuses any crit header, known or not', async () => {
    const header = { alg: 'EdDSA', typ: 'passport+jwt', kid: 'k1' };
    const payload = defaultClaims(nowSec());
    await expect(verifier.verify(await signRaw(key, header, payload))).resolves.toBeTruthy();
    await expectInvalid(signRaw(key, { ...header, crit: ['exp'], exp: 1 }, payload));
    await expectInvalid(signRaw(key, { ...header, crit: ['x-unknown'], 'x-unknown': 1 }, payload));
    await expectInvalid(signRaw(key, { ...header, crit: ['b64'], b64: true }, payload));
    await expectInvalid(signRaw(key, { ...header, crit: [] }, payload));
    await expectInvalid(signRaw(key, { ...header, crit: 'b64' }, payload));
  });

  it('refuses a tampered payload or header', async () => {
    const [h, , s] = (await signPassport(key)).split('.');
    const elevated = { ...defaultClaims(nowSec()), roles: ['user', 'admin'] };
    await expectInvalid(`${h}.${b64url(elevated)}.${s}`);
    const otherUser = { ...defaultClaims(nowSec()), sub: 'user-2' };
    await expectInvalid(`${h}.${b64url(otherUser)}.${s}`);
    const [, p, s2] = (await signPassport(key)).split('.');
    await expectInvalid(`${b64url({ alg: 'EdDSA', typ: 'passport+jwt', kid: 'k1', x: 1 })}.${p}.${s2}`);
  });

  it('refuses truncated, zeroed, flipped or missing signatures', async () => {
    const token = await signPassport(key);
    const [h, p, s = ''] = token.split('.');
    await expectInvalid(`${h}.${p}.${s.slice(0, -1)}`);
    await expectInvalid(`${h}.${p}.${s.slice(0, 43)}`);
    await expectInvalid(`${h}.${p}.${'A'.repeat(s.length)}`);
    await expectInvalid(`${h}.${p}.${Buffer.alloc(64).toString('base64url')}`);
    const flipped = Buffer.from(s, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expectInvalid(`${h}.${p}.${flipped.toString('base64url')}`);
    await expectInvalid(`${h}.${p}.`);
    await expectInvalid(`${h}.${p}`);
    await expectInvalid(`${token}.${s}`);
    await expectInvalid(`${token} `.trim() + '=');
  });

  it('refuses a passport signed by another key that claims the real kid', async () => {
    await expectInvalid(signPassport(attacker, { header: { kid: 'k1' } }));
  });

  it('refuses an access token replayed as a passport', async () => {
    await expectInvalid(signPassport(key, { header: { typ: 'at+jwt' }, claims: { aud: ISSUER, client_id: 'app' } }));
  });
});
