import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPassportVerifier } from './index.js';
import type { PassportVerifier } from './index.js';
import {
  AUDIENCE,
  ISSUER,
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

async function expectInvalid(token: string | Promise<string>, v: PassportVerifier = verifier): Promise<void> {
  await expect(v.verify(await token)).rejects.toMatchObject({ name: 'PassportError', code: 'invalid_passport' });
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
      await expectInvalid(signPassport(key, { nowSec: nowSec(), header: { typ } }));
    }
    await expectInvalid(signPassport(key, { nowSec: nowSec(), header: { typ: undefined } }));
  });

  it('refuses a wrong audience, including an audience list', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: 'admin' } }));
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: [AUDIENCE, 'admin'] } }));
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { aud: undefined } }));
  });

  it('refuses a wrong or missing issuer', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: 'http://evil.example' } }));
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: `${ISSUER}/` } }));
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { iss: undefined } }));
  });

  it('refuses an expired passport, allowing the clock tolerance', async () => {
    const token = await signPassport(key, { nowSec: nowSec() - 30, claims: { exp: nowSec() - 3 } });
    await expect(verifier.verify(token)).resolves.toMatchObject({ sub: 'user-1' });
    await expectInvalid(signPassport(key, { nowSec: nowSec() - 30, claims: { exp: nowSec() - 6 } }));
  });

  it('refuses a passport not yet valid (iat or nbf in the future)', async () => {
    await expectInvalid(signPassport(key, { nowSec: nowSec() + 30 }));
    await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { nbf: nowSec() + 30 } }));
    await expect(verifier.verify(await signPassport(key, { nowSec: nowSec() + 3 }))).resolves.toBeTruthy();
  });

  it('refuses a passport older than maxTokenAge even when exp is later', async () => {
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, now: clock.now, maxTokenAgeSec: 60 });
    const old = await signPassport(key, { nowSec: nowSec() - 70, claims: { exp: nowSec() + 600 } });
    await expectInvalid(old, v);
    await expectInvalid(signPassport(key, { nowSec: nowSec() - 200, claims: { exp: nowSec() + 600 } }));
  });

  it('refuses missing required claims', async () => {
    for (const claim of ['sub', 'iat', 'exp', 'jti', 'auth', 'username', 'roles']) {
      await expectInvalid(signPassport(key, { nowSec: nowSec(), claims: { [claim]: undefined } }));
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
      await expectInvalid(signPassport(key, { nowSec: nowSec(), claims }));
    }
  });

  it('refuses things that are not a passport at all', async () => {
    for (const junk of ['', 'x', 'a.b', 'a.b.c.d', '...', 'a'.repeat(10_000), 'eyJ.eyJ.eyJ', 'not a token at all']) {
      await expectInvalid(junk);
    }
    // @ts-expect-error runtime guard for callers without types
    await expectInvalid(undefined);
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
