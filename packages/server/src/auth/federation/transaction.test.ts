import { randomBytes } from 'node:crypto';
import { EncryptJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../config/defaults.js';
import { GatehouseError } from '../../errors/index.js';
import { ManualClock } from '../../util/clock.js';
import { deriveFederationTransactionKey } from '../derived-keys.js';
import {
  FEDERATION_TRANSACTION_TTL_SEC,
  federationCookieName,
  federationCookieOptions,
  sealTransaction,
  unsealTransaction,
  type FederationTransaction,
} from './transaction.js';

const masterKey = new Uint8Array(randomBytes(32));
const key = deriveFederationTransactionKey(masterKey);
const google = { id: 'google', name: 'Google' };
const tx: Omit<FederationTransaction, 'issuedAt'> = {
  provider: 'google',
  transaction: { state: 'state-1', nonce: 'nonce-1', codeVerifier: 'verifier-1' },
  next: '/account',
  mode: { kind: 'signin' },
};

async function refusal(p: Promise<unknown>): Promise<GatehouseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatehouseError);
  expect((err as GatehouseError).code).toBe('federation_failed');
  expect((err as GatehouseError).status).toBe(400);
  expect((err as GatehouseError).detail).toMatch(/Start the sign-in again/);
  return err as GatehouseError;
}
const causeOf = (e: GatehouseError) => String((e.cause as Error).message);

describe('federation transaction cookie', () => {
  it('round-trips a sign-in and a link, with its issued-at; the sealed value shows none of it', async () => {
    const clock = new ManualClock();
    const sealed = await sealTransaction(key, tx, clock);
    for (const secret of ['state-1', 'nonce-1', 'verifier-1', '/account', 'google']) expect(sealed).not.toContain(secret);
    expect(await unsealTransaction(key, sealed, google, clock)).toEqual({ ...tx, issuedAt: clock.now() });
    const link = { ...tx, transaction: { state: 's', codeVerifier: 'v' }, mode: { kind: 'link', userId: 'u-1' } as const };
    expect(await unsealTransaction(key, await sealTransaction(key, link, clock), google, clock)).toEqual({ ...link, issuedAt: clock.now() });
  });

  it('is refused when missing (login CSRF: a callback this browser did not start)', async () => {
    const clock = new ManualClock();
    expect(causeOf(await refusal(unsealTransaction(key, undefined, google, clock)))).toMatch(/no transaction cookie/);
    await refusal(unsealTransaction(key, '', google, clock));
  });

  it('is refused when expired (10 min)', async () => {
    const clock = new ManualClock();
    const sealed = await sealTransaction(key, tx, clock);
    clock.advance(FEDERATION_TRANSACTION_TTL_SEC * 1000 - 1000);
    await expect(unsealTransaction(key, sealed, google, clock)).resolves.toMatchObject({ provider: 'google' });
    clock.advance(1000);
    expect(causeOf(await refusal(unsealTransaction(key, sealed, google, clock)))).toMatch(/expired/);
  });

  it('is refused when tampered with: any changed character, or sealed under another master key', async () => {
    const clock = new ManualClock();
    const sealed = await sealTransaction(key, tx, clock);
    const parts = sealed.split('.');
    for (const i of [0, 2, 3, 4]) {
      const p = parts[i]!;
      const flipped = p.slice(0, 5) + (p[5] === 'A' ? 'B' : 'A') + p.slice(6);
      await refusal(unsealTransaction(key, parts.map((x, j) => (j === i ? flipped : x)).join('.'), google, clock));
    }
    const otherKey = deriveFederationTransactionKey(new Uint8Array(randomBytes(32)));
    await refusal(unsealTransaction(otherKey, sealed, google, clock));
    await refusal(unsealTransaction(key, 'not-a-jwe', google, clock));
  });

  it('is refused at another provider\'s callback (mix-up)', async () => {
    const clock = new ManualClock();
    const sealed = await sealTransaction(key, tx, clock);
    expect(causeOf(await refusal(unsealTransaction(key, sealed, { id: 'github', name: 'GitHub' }, clock)))).toMatch(/another provider/);
  });

  it('refuses a JWE under the same key that is not a transaction (other typ, no expiry)', async () => {
    const clock = new ManualClock();
    const iat = Math.floor(clock.now() / 1000);
    const claims = { prv: 'google', st: 's', cv: 'v', nxt: '/', mode: 'signin' };
    const otherTyp = await new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'JWT' }).setIssuedAt(iat).setExpirationTime(iat + 60).encrypt(key);
    await refusal(unsealTransaction(key, otherTyp, google, clock));
    const noExp = await new EncryptJWT(claims).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'gatehouse-federation+jwt' }).setIssuedAt(iat).encrypt(key);
    await refusal(unsealTransaction(key, noExp, google, clock));
  });

  it('cookie: __Host- on https, HttpOnly, SameSite=Lax, Path=/, lives as long as the transaction', () => {
    expect(federationCookieName({ ...DEFAULTS, publicUrl: 'https://gw.example.com' })).toBe('__Host-gatehouse_federation');
    expect(federationCookieName({ ...DEFAULTS, publicUrl: 'http://127.0.0.1:8080' })).toBe('gatehouse_federation');
    expect(federationCookieOptions({ ...DEFAULTS, publicUrl: 'https://gw.example.com' })).toEqual({
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: true,
      maxAge: FEDERATION_TRANSACTION_TTL_SEC,
    });
  });
});
