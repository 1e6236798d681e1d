import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, createLocalJWKSet, generateKeyPair, jwtVerify, type CryptoKey, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStores } from '../stores/sqlite/open-sqlite-stores.js';
import type { Stores } from '../stores/types.js';
import { ManualClock } from '../util/clock.js';
import { activeSigningKey, signJwt } from './jwt.js';
import { openKeyring } from './keyring.js';
import type { ActiveSigningKey, Keyring } from './keyring-types.js';

/*
 * signJwt signs with node:crypto (Ed25519 on the key's KeyObject) where it used to call jose's
 * SignJWT. The reference below is that former signer. Ed25519 is deterministic, so for the same
 * key, header and claims both must give the same string, byte for byte; and what signJwt makes
 * must verify with jose's jwtVerify against the keyring's JWKS (what services and the gateway
 * publish), decode to the same header and claims, and stop verifying once tampered with.
 */

const root = mkdtempSync(join(tmpdir(), 'gatehouse-sign-parity-'));
const clock = new ManualClock(Date.UTC(2030, 0, 1, 12, 0, 0));
const iat = Math.floor(clock.now() / 1000);
const ISS = 'http://127.0.0.1:8080';

function joseSign(claims: JWTPayload, typ: string, key: ActiveSigningKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ, kid: key.kid }).sign(key.privateKey);
}

/** What the server signs: access tokens (a user's and a client's) and passports, plus awkward strings. */
const corpus: [string, string, JWTPayload][] = [
  [
    'user access token',
    'at+jwt',
    { iss: ISS, aud: ISS, sub: 'u-1', client_id: 'gatehouse', scope: 'notes:read notes:write', sid: 's-1', did: 'tv-1', username: 'alice', roles: ['user', 'admin'], jti: 'j-1', iat, exp: iat + 600 },
  ],
  ['client access token', 'at+jwt', { iss: ISS, aud: ISS, sub: 'svc', client_id: 'svc', scope: 'notes:read', gty: 'client_credentials', jti: 'j-2', iat, exp: iat + 300 }],
  [
    'passport with an act chain',
    'passport+jwt',
    { iss: ISS, aud: 'notes', sub: 'u-1', iat, exp: iat + 60, jti: 'j-3', username: 'alice', roles: [], auth: 'access_token', scope: 'notes:read', act: { sub: 'home', act: { sub: 'web' } } },
  ],
  [
    'non-ASCII and escaped strings',
    'passport+jwt',
    { iss: ISS, aud: 'home', sub: 'u-2', iat, exp: iat + 60, jti: 'j-4', username: 'Zoë 😀 "q" \\ \u2028 \u0000 \ud800', roles: ['rôle'], auth: 'session', extra: undefined },
  ],
];

describe('signJwt (node:crypto Ed25519) against jose SignJWT', () => {
  let stores: Stores;
  let ring: Keyring & { close(): void };
  let key: ActiveSigningKey;
  beforeAll(async () => {
    stores = await openSqliteStores({ file: join(root, 'keys.db'), clock });
    ring = await openKeyring({ store: stores.keys, masterKey: new Uint8Array(randomBytes(32)), clock });
    key = ring.signingKey();
  });
  afterAll(async () => {
    ring.close();
    await stores.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('makes byte for byte the token jose makes for the same key and claims', async () => {
    for (const [name, typ, claims] of corpus) {
      expect(signJwt(claims, { typ, key }), name).toBe(await joseSign(claims, typ, key));
    }
  });

  it('verifies with jose jwtVerify against the JWKS, decoding to the same header and claims as a jose-signed token', async () => {
    const jwks = createLocalJWKSet(ring.jwks());
    for (const [name, typ, claims] of corpus) {
      const options = { algorithms: ['EdDSA'], typ, issuer: ISS, currentDate: new Date(clock.now()) };
      const ours = await jwtVerify(signJwt(claims, { typ, key }), jwks, options);
      const theirs = await jwtVerify(await joseSign(claims, typ, key), jwks, options);
      expect(ours.protectedHeader, name).toEqual({ alg: 'EdDSA', typ, kid: key.kid });
      expect(ours.protectedHeader, name).toEqual(theirs.protectedHeader);
      expect(ours.payload, name).toEqual(theirs.payload);
      expect(ours.payload, name).toEqual(JSON.parse(JSON.stringify(claims)));
    }
  });

  it('a tampered token fails jose verification', async () => {
    const jwks = createLocalJWKSet(ring.jwks());
    const [, typ, claims] = corpus[0]!;
    const token = signJwt(claims, { typ, key });
    const [h, p, s] = token.split('.') as [string, string, string];
    const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const other = activeSigningKey(key.kid, (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey);
    const flipped = `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    const tampered = [
      `${h}.${enc({ ...claims, sub: 'u-2' })}.${s}`,
      `${h}.${enc({ ...claims, roles: ['admin', 'root'] })}.${s}`,
      `${enc({ alg: 'EdDSA', typ: 'passport+jwt', kid: key.kid })}.${p}.${s}`,
      `${h}.${p}.${flipped}`,
      `${h}.${p}.${s.slice(0, 43)}`,
      // Our kid, another key's signature.
      signJwt(claims, { typ, key: other }),
    ];
    await expect(jwtVerify(token, jwks, { currentDate: new Date(clock.now()) })).resolves.toBeTruthy();
    for (const t of tampered) {
      await expect(jwtVerify(t, jwks, { typ, currentDate: new Date(clock.now()) }), t).rejects.toThrow();
    }
  });

  it('refuses a non-finite iat, nbf or exp as jose does', async () => {
    for (const name of ['iat', 'nbf', 'exp']) {
      for (const v of [Infinity, -Infinity, NaN]) {
        const claims = { ...corpus[0]![2], [name]: v };
        expect(() => signJwt(claims, { typ: 'at+jwt', key })).toThrow(TypeError);
        await expect(joseSign(claims, 'at+jwt', key)).rejects.toThrow(TypeError);
      }
    }
  });

  it('activeSigningKey takes only an Ed25519 private key (Ed448 is EdDSA too, and is refused)', async () => {
    const ed448 = (await webcrypto.subtle.generateKey({ name: 'Ed448' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const ed25519 = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const es256 = await generateKeyPair('ES256');
    expect(() => activeSigningKey('k', ed448.privateKey as CryptoKey)).toThrow(/not an Ed25519 private key/);
    expect(() => activeSigningKey('k', ed25519.publicKey)).toThrow(/not an Ed25519 private key/);
    expect(() => activeSigningKey('k', es256.privateKey)).toThrow(/not an Ed25519 private key/);
    expect(activeSigningKey('k', ed25519.privateKey).keyObject.asymmetricKeyType).toBe('ed25519');
  });
});
