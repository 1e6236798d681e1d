import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createPassportVerifier } from './index.js';
import {
  AUDIENCE,
  ISSUER,
  frozenClock,
  jwksOf,
  makeKey,
  signPassport,
  startCountingServer,
  startJwksServer,
} from './jwks-server.test-helpers.js';
import type { JwksServer } from './jwks-server.test-helpers.js';

const servers: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(...args: Parameters<typeof startJwksServer>): Promise<JwksServer> {
  const s = await startJwksServer(...args);
  servers.push(s);
  return s;
}

describe('remote JWKS (jwksUrl)', () => {
  it('fetches once, then refetches on an unknown kid at most once per cooldown', async () => {
    const k1 = await makeKey('k1');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheMax: 0 });
    await v.verify(await signPassport(k1));
    await v.verify(await signPassport(k1));
    expect(jwks.requests).toBe(1);

    const ghost1 = await makeKey('ghost-1');
    const ghost2 = await makeKey('ghost-2');
    // A short cooldown, so the test can wait it out (it starts at the last fetch).
    const v2 = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheMax: 0, jwksCooldownMs: 200 });
    await v2.verify(await signPassport(k1));
    expect(jwks.requests).toBe(2);
    await sleep(250);
    await expect(v2.verify(await signPassport(ghost1))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(jwks.requests).toBe(3); // one refetch for the unknown kid
    await expect(v2.verify(await signPassport(ghost2))).rejects.toMatchObject({ code: 'unknown_key' });
    await expect(v2.verify(await signPassport(ghost1))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(jwks.requests).toBe(3); // within the cooldown: no refetch
    await v2.verify(await signPassport(k1));
    expect(jwks.requests).toBe(3);
  });

  it('with the default cooldown, a burst of unknown kids right after the first fetch fetches nothing more', async () => {
    const k1 = await makeKey('k1');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    await v.verify(await signPassport(k1));
    for (let i = 0; i < 20; i++) {
      await expect(v.verify(await signPassport(await makeKey(`ghost-${i}`)))).rejects.toMatchObject({ code: 'unknown_key' });
    }
    expect(jwks.requests).toBe(1);
  });

  it('accepts a passport signed by a key published after the first fetch (rotation)', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, jwksCooldownMs: 200 });
    await v.verify(await signPassport(k1));
    jwks.keys = [k1, k2];
    // Published before it signs anything, and used once the cooldown has passed: accepted.
    await sleep(250);
    await expect(v.verify(await signPassport(k2))).resolves.toMatchObject({ sub: 'user-1' });
    expect(jwks.requests).toBe(2);
    // The retired key is still accepted while it is published.
    await expect(v.verify(await signPassport(k1, { claims: { jti: 'again' } }))).resolves.toBeTruthy();
    expect(jwks.requests).toBe(2);
  });

  it('refuses a key withdrawn from the key set as soon as a refetch brought the new set, though it was verified before', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheMax: 0, jwksCooldownMs: 200 });
    // Twice: the second verification of k1 runs with the key at hand (no key-set lookup).
    await v.verify(await signPassport(k1));
    await v.verify(await signPassport(k1));
    jwks.keys = [k2];
    await sleep(250);
    await expect(v.verify(await signPassport(k2))).resolves.toBeTruthy();
    expect(jwks.requests).toBe(2);
    await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'unknown_key' });
  });

  it('reloads a key set older than jwksCacheMaxAgeMs before verifying, even for a known kid', async () => {
    const k1 = await makeKey('k1');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE, cacheMax: 0, jwksCacheMaxAgeMs: 200 });
    await v.verify(await signPassport(k1));
    await v.verify(await signPassport(k1));
    expect(jwks.requests).toBe(1);
    jwks.keys = [];
    await sleep(250);
    await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(jwks.requests).toBe(2);
  });

  it('reports an unreachable or failing JWKS as jwks_unreachable (503)', async () => {
    const k1 = await makeKey('k1');
    const jwks = await server([k1]);
    jwks.status = 500;
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'jwks_unreachable', status: 503 });

    const closed = await server([k1]);
    const url = closed.jwksUrl;
    await closed.close();
    const v2 = createPassportVerifier({ jwksUrl: url, issuer: ISSUER, audience: AUDIENCE });
    await expect(v2.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'jwks_unreachable', status: 503 });

    const v3 = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    jwks.status = 200;
    await expect(v3.verify(await signPassport(k1))).resolves.toBeTruthy();
  });

  it('reports a JWKS URL that answers something other than a key set as jwks_invalid', async () => {
    const k1 = await makeKey('k1');
    for (const body of ['<html>not json</html>', '{"nope":true}', '{"keys":"k1"}']) {
      const s = await startCountingServer(() => ({ status: 200, body }));
      const v = createPassportVerifier({ jwksUrl: `${s.url}/.well-known/jwks.json`, issuer: ISSUER, audience: AUDIENCE });
      await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'jwks_invalid', status: 503 });
      await s.close();
    }
  });

  it('does not touch the JWKS for junk, whatever its volume', async () => {
    const k1 = await makeKey('k1');
    const jwks = await server([k1]);
    const v = createPassportVerifier({ jwksUrl: jwks.jwksUrl, issuer: ISSUER, audience: AUDIENCE });
    for (const junk of ['x', 'a.b.c', await signPassport(k1, { header: { typ: 'JWT' } }), await signPassport(k1, { header: { kid: '../x' } })]) {
      await expect(v.verify(junk)).rejects.toMatchObject({ name: 'PassportError', status: 401 });
    }
    expect(jwks.requests).toBe(0);
  });
});

describe('local key source (jwks getter)', () => {
  it('asks the getter once, and again on an unknown kid at most once per cooldown', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const clock = frozenClock();
    let current = jwksOf(k1);
    let asked = 0;
    const v = createPassportVerifier({
      jwks: () => {
        asked += 1;
        return current;
      },
      issuer: ISSUER,
      audience: AUDIENCE,
      now: clock.now,
      cacheMax: 0,
    });
    const nowSec = Math.floor(clock.now() / 1000);
    await v.verify(await signPassport(k1, { nowSec }));
    await v.verify(await signPassport(k1, { nowSec }));
    expect(asked).toBe(1);

    current = jwksOf(k1, k2);
    // Within the cooldown: the unknown kid is refused without asking.
    await expect(v.verify(await signPassport(k2, { nowSec }))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(asked).toBe(1);
    clock.advance(30_000);
    const later = Math.floor(clock.now() / 1000);
    await expect(v.verify(await signPassport(k2, { nowSec: later }))).resolves.toMatchObject({ sub: 'user-1' });
    expect(asked).toBe(2);
    // Another unknown kid right after: refused, no new ask.
    await expect(v.verify(await signPassport(await makeKey('k3'), { nowSec: later }))).rejects.toMatchObject({ code: 'unknown_key' });
    expect(asked).toBe(2);
  });

  it('refuses a key withdrawn from the set once the getter was asked again, and when the set grew stale', async () => {
    const k1 = await makeKey('k1');
    const k2 = await makeKey('k2');
    const clock = frozenClock();
    let current = jwksOf(k1);
    const v = createPassportVerifier({ jwks: () => current, issuer: ISSUER, audience: AUDIENCE, now: clock.now, cacheMax: 0, jwksCacheMaxAgeMs: 60_000 });
    const sec = (): number => Math.floor(clock.now() / 1000);
    await v.verify(await signPassport(k1, { nowSec: sec() }));
    await v.verify(await signPassport(k1, { nowSec: sec() }));
    // An unknown kid after the cooldown asks the getter: the new set no longer holds k1.
    current = jwksOf(k2);
    clock.advance(30_000);
    await expect(v.verify(await signPassport(k2, { nowSec: sec() }))).resolves.toBeTruthy();
    await expect(v.verify(await signPassport(k1, { nowSec: sec() }))).rejects.toMatchObject({ code: 'unknown_key' });
    // A set older than jwksCacheMaxAgeMs is asked for again before a known kid is trusted.
    await v.verify(await signPassport(k2, { nowSec: sec() }));
    current = jwksOf(k1);
    clock.advance(60_000);
    await expect(v.verify(await signPassport(k2, { nowSec: sec() }))).rejects.toMatchObject({ code: 'unknown_key' });
  });

  it('verifies synchronously once the key of a kid is known: no wait on the key set', async () => {
    const k1 = await makeKey('k1');
    const v = createPassportVerifier({ jwks: () => jwksOf(k1), issuer: ISSUER, audience: AUDIENCE, cacheMax: 0 });
    const settledAfterOneTick = async (token: string, expectSuccess: boolean): Promise<boolean> => {
      let settled = false;
      const verification = v.verify(token).then(
        () => expectSuccess,
        () => !expectSuccess,
      );
      void verification.then(() => (settled = true));
      await null;
      await null;
      const early = settled;
      expect(await verification).toBe(true);
      return early;
    };
    expect(await settledAfterOneTick(await signPassport(k1), true)).toBe(false); // first use of k1: the key set is asked
    expect(await settledAfterOneTick(await signPassport(k1), true)).toBe(true);
    const [h, p] = (await signPassport(k1)).split('.');
    expect(await settledAfterOneTick(`${h}.${p}.${Buffer.alloc(64).toString('base64url')}`, false)).toBe(true);
  });

  it('accepts an async getter, and a failing getter means jwks_unreachable', async () => {
    const k1 = await makeKey('k1');
    let fail = true;
    const v = createPassportVerifier({
      jwks: async () => {
        if (fail) throw new Error('keyring locked');
        return jwksOf(k1);
      },
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'jwks_unreachable', status: 503 });
    fail = false;
    await expect(v.verify(await signPassport(k1))).resolves.toBeTruthy();
  });

  it('reports a malformed key set as jwks_invalid (503)', async () => {
    const k1 = await makeKey('k1');
    const v = createPassportVerifier({ jwks: () => ({ nope: true }) as never, issuer: ISSUER, audience: AUDIENCE });
    await expect(v.verify(await signPassport(k1))).rejects.toMatchObject({ code: 'jwks_invalid', status: 503 });
  });
});
