import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassportVerifier } from './index.js';
import type { PassportErrorCode, PassportVerifier } from './index.js';
import {
  AUDIENCE,
  ISSUER,
  defaultClaims,
  frozenClock,
  makeKey,
  signPassport,
  startJwksServer,
} from './jwks-server.test-helpers.js';
import type { JwksServer, TestKey } from './jwks-server.test-helpers.js';

let key: TestKey;
let jwks: JwksServer;
const clock = frozenClock(Date.UTC(2030, 0, 1, 12, 0, 0));
const nowSec = () => Math.floor(clock.now() / 1000);
let verifier: PassportVerifier;

beforeAll(async () => {
  key = await makeKey('k1');
  jwks = await startJwksServer([key]);
  verifier = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, now: clock.now, cacheMax: 0 });
});
afterAll(() => jwks.close());

/** Refused with 401 and, when given, the code that names the cause. */
async function expectInvalid(token: string | Promise<string>, code?: PassportErrorCode, v: PassportVerifier = verifier): Promise<void> {
  await expect(v.verify(await token)).rejects.toMatchObject({ name: 'PassportError', status: 401, ...(code ? { code } : {}) });
}

describe('createPassportVerifier', () => {
  it('accepts a valid passport and returns only its claims, frozen', async () => {
    const token = await signPassport(key, { nowSec: nowSec(), claims: { scope: 'notes:read notes:write', extra: 'x' } });
    const claims = await verifier.verify(token);
    expect(claims).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      iat: nowSec(),
      exp: nowSec() + 60,
      jti: expect.any(String),
      username: 'alice',
      roles: ['user'],
      scope: 'notes:read notes:write',
      sid: 'session-1',
      did: 'device-1',
      auth: 'session',
    });
    expect(Object.isFrozen(claims)).toBe(true);
    expect(Object.isFrozen(claims.roles)).toBe(true);
  });

  it('accepts every auth kind and a passport without sid/did/scope', async () => {
    for (const auth of ['session', 'access_token', 'api_token']) {
      const token = await signPassport(key, { nowSec: nowSec(), claims: { auth, sid: undefined, did: undefined } });
      await expect(verifier.verify(token)).resolves.toMatchObject({ auth });
    }
  });

  it('refuses a wrong typ', async () => {
    for (const typ of ['at+jwt', 'JWT', 'jwt', 'application/at+jwt', 'passport', '']) {
      await expectInvalid(signPassport(key, { nowSec: nowSec(), header: { typ } }), 'passport_wrong_type');
    }
    await expectInvalid(signPassport(key, { nowSec: nowSec(), header: { typ: undefined } }), 'passport_wrong_type');
  });

  it('refuses a wrong audience, including an audience list', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: 'admin' } }), 'audience_mismatch');
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: [AUDIENCE, 'admin'] } }), 'passport_malformed');
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: undefined } }), 'passport_malformed');
  });

  it('refuses a wrong or missing issuer', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: 'http://evil.example' } }), 'issuer_mismatch');
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: `${ISSUER}/` } }), 'issuer_mismatch');
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: undefined } }), 'passport_malformed');
  });

  it('refuses an expired passport, allowing the clock tolerance', async () => {
    const token = await signPassport(key, { nowSec: nowSec() - 30, claims: { exp: nowSec() - 3 } });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
    await expectInvalid(signPassport(key, { nowSec: nowSec() - 30, claims: { exp: nowSec() - 6 } }), 'passport_expired');
  });

  it('refuses a passport not yet valid (iat or nbf in the future)', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec() + 30 }), 'passport_not_yet_valid');
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { nbf: nowSec() + 30 } }), 'passport_not_yet_valid');
    await expect(verifier.verify(await signPassport(key, { nowSec: nowSec() + 3 }))).resolves.toBeTruthy();
  });

  it('refuses a passport older than maxTokenAge even when exp is later', async () => {
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, now: clock.now, maxTokenAgeSec: 60 });
    const old = await signPassport(key, { nowSec: nowSec() - 70, claims: { exp: nowSec() + 600 } });
    await expectInvalid(old, 'passport_expired', v);
    await expectInvalid(signPassport(key, { nowSec: nowSec() - 200, claims: { exp: nowSec() + 600 } }), 'passport_expired');
  });

  it('refuses missing required claims', async () => {
    for (const claim of ['sub', 'iat', 'exp', 'jti', 'auth', 'username', 'roles']) {
      await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { [claim]: undefined } }), 'passport_malformed');
    }
  });

  it('refuses claims of the wrong shape', async () => {
    const bad: Record<string, unknown>[] = [
      { roles: 'admin' },
      { roles: ['user', 1] },
      { roles: [['admin']] },
      { roles: { 0: 'admin' } },
      { auth: 'password' },
      { auth: ['session'] },
      { sub: '' },
      { sub: 42 },
      { username: 7 },
      { scope: ['notes:read'] },
      { sid: 1 },
      { did: {} },
      { exp: '9999999999' },
    ];
    for (const claims of bad) {
      await expectInvalid(signPassport(key, { nowSec: nowSec(), claims }), 'passport_malformed');
    }
  });

  it('names a forged signature and an unknown key apart', async () => {
    const impostor = await makeKey('k1');
    await expectInvalid(signPassport(impostor, { nowSec: nowSec() }), 'signature_invalid');
    const [h, , sig] = (await signPassport(key, { nowSec: nowSec() })).split('.');
    const elevated = Buffer.from(JSON.stringify({ ...defaultClaims(nowSec()), roles: ['admin'] })).toString('base64url');
    await expectInvalid(`${h}.${elevated}.${sig}`, 'signature_invalid');
    await expectInvalid(signPassport(await makeKey('ghost'), { nowSec: nowSec() }), 'unknown_key');
  });

  it('refuses things that are not a passport at all', async () => {
    for (const junk of ['', 'x', 'a.b', 'a.b.c.d', '...', 'a'.repeat(10_000), 'eyJ.eyJ.eyJ', 'not a token at all']) {
      await expectInvalid(junk, 'passport_malformed');
    }
    // @ts-expect-error runtime guard for callers without types
    await expectInvalid(undefined, 'passport_malformed');
  });

  it('needs exactly one key source, an issuer and an audience', () => {
    expect(() => createPassportVerifier({ issuer: ISSUER, audience: AUDIENCE })).toThrow(TypeError);
    expect(() =>
      createPassportVerifier({ jwksUrl: jwks.jwksUrl, jwks: () => ({ keys: [] }), issuer: ISSUER, audience: AUDIENCE }),
    ).toThrow(TypeError);
    expect(() => createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: '', audience: AUDIENCE })).toThrow(TypeError);
    expect(() => createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: '' })).toThrow(TypeError);
  });
});
