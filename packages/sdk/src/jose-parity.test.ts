import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { base64url, decodeProtectedHeader, exportJWK, jwtVerify } from 'jose';
import type { JSONWebKeySet, JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSPORT_TYP } from './claims.js';
import type { PassportClaims } from './claims.js';
import { toPassportClaims } from './claims-check.js';
import { PassportError, createPassportVerifier, inspectProtectedHeader } from './index.js';
import type { PassportVerifier } from './index.js';
import { passportErrorFrom } from './jose-errors.js';
import { createKeySource } from './key-source.js';
import { checkProtectedHeader, decodeSegment } from './protected-header.js';
import { AUDIENCE, ISSUER, b64url, defaultClaims, frozenClock, hs256Token, makeKey, rawToken, signPassport, signRaw } from './jwks-server.test-helpers.js';
import type { TestKey } from './jwks-server.test-helpers.js';

/*
 * The verifier checks passports itself (node:crypto Ed25519, its own claim checks) where it used
 * to hand them to jose's jwtVerify. The reference below is that former verifier: the header
 * hardening, then jwtVerify with the same options and key lookup, then the passport's shape. On a corpus
 * of good and bad passports both must agree: same claims, or same code and message; on the
 * verifier's first lookup of a kid (through jose's key set) and once the key is known (the
 * synchronous fast path).
 */

const clock = frozenClock(Date.UTC(2030, 0, 1, 12, 0, 0));
const nowSec = (): number => Math.floor(clock.now() / 1000);
const TOLERANCE = 5;
const MAX_AGE = 120;

async function joseReference(token: string, jwks: JSONWebKeySet): Promise<PassportClaims> {
  try {
    checkProtectedHeader(token);
    // The key source as it was handed to jwtVerify (jose's key set, its errors as PassportErrors).
    const keys = createKeySource({ jwks: () => jwks, cooldownMs: 30_000, cacheMaxAgeMs: 600_000, now: clock.now });
    const { payload } = await jwtVerify(token, (header, jws) => keys.resolve(header, jws), {
      algorithms: ['EdDSA'],
      typ: PASSPORT_TYP,
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'iat', 'exp', 'jti', 'auth'],
      maxTokenAge: MAX_AGE,
      clockTolerance: TOLERANCE,
      currentDate: new Date(clock.now()),
    });
    return toPassportClaims(payload);
  } catch (err) {
    throw passportErrorFrom(err);
  }
}

type Outcome = { ok: true; claims: PassportClaims } | { ok: false; code: string; message: string };

async function outcome(verification: Promise<PassportClaims>): Promise<Outcome> {
  try {
    return { ok: true, claims: await verification };
  } catch (err) {
    if (!(err instanceof PassportError)) throw err;
    return { ok: false, code: err.code, message: err.message };
  }
}

let key: TestKey;
let other: TestKey;
let jwks: JSONWebKeySet;
const corpus: [name: string, token: string][] = [];

/** A token over any signing input, signed with `k` (for inputs no JWT library would write). */
async function signInput(k: TestKey, input: string): Promise<string> {
  const sig = await webcrypto.subtle.sign('Ed25519', k.privateKey, Buffer.from(input, 'latin1'));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

/** The same segment with spare bits set in its last character (non-canonical base64url that decodes alike). */
function nonCanonical(segment: string): string {
  const bytes = decodeSegment(segment);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (const c of alphabet) {
    const variant = segment.slice(0, -1) + c;
    if (variant !== segment && Buffer.from(variant, 'base64url').equals(bytes)) return variant;
  }
  throw new Error('segment has no spare bits');
}

const jwkOf = async (kid: string, extra: Partial<JWK> = {}): Promise<JWK> => {
  const { publicKey } = generateKeyPairSync('ed25519');
  return { ...(await exportJWK(publicKey)), kid, ...extra };
};

beforeAll(async () => {
  key = await makeKey('k1');
  other = await makeKey('k1');
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  // The identity point: a small-order "key" that verifies the all-zero-but-R signature below.
  const identity = Buffer.alloc(32);
  identity[0] = 1;
  const twin = await jwkOf('twin');
  jwks = {
    keys: [
      key.publicJwk,
      { ...(await exportJWK(p256)), kid: 'es', alg: 'ES256', use: 'sig' },
      { ...(generateKeyPairSync('ed448').publicKey.export({ format: 'jwk' }) as JWK), kid: 'ed448', alg: 'EdDSA' },
      await jwkOf('new-alg-name', { alg: 'Ed25519' }),
      await jwkOf('enc', { use: 'enc' }),
      await jwkOf('ops-sign', { key_ops: ['sign'] }),
      await jwkOf('ops-verify', { key_ops: ['verify'] }),
      await jwkOf('no-alg'),
      twin,
      { ...twin },
      { ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK), kid: 'private' },
      { kty: 'OKP', crv: 'Ed25519', x: identity.toString('base64url'), kid: 'weak', alg: 'EdDSA' },
    ],
  };

  const now = nowSec();
  const claims = defaultClaims(now);
  const good = await signPassport(key, { nowSec: now });
  const [h = '', p = '', s = ''] = good.split('.');
  const header = { alg: 'EdDSA', typ: PASSPORT_TYP, kid: 'k1' };
  const add = (name: string, token: string): void => {
    corpus.push([name, token]);
  };
  const signed = async (name: string, input: { claims?: Record<string, unknown>; header?: Record<string, unknown>; nowSec?: number }): Promise<void> =>
    add(name, await signPassport(key, { nowSec: now, ...input }));

  // Good ones.
  add('good', good);
  await signed('good, scope and no sid/did', { claims: { scope: 'a b', sid: undefined, did: undefined, auth: 'access_token' } });
  await signed('good, client passport', { claims: { auth: 'client', client_id: 'user-1', username: undefined, sid: undefined, did: undefined, roles: [] } });
  await signed('good, act chain', { claims: { act: { sub: 'svc-b', act: { sub: 'svc-a' } } } });
  await signed('good, nbf now, extra claims', { claims: { nbf: now, extra: { deep: [1, 2] } } });
  // Signature.
  const flipped = Buffer.from(s, 'base64url');
  flipped[10] = (flipped[10] ?? 0) ^ 1;
  add('flipped signature bit', `${h}.${p}.${flipped.toString('base64url')}`);
  add('signature of another key, same kid', await signPassport(other, { nowSec: now }));
  add('signature truncated by one char', `${h}.${p}.${s.slice(0, -1)}`);
  add('signature truncated by two chars', `${h}.${p}.${s.slice(0, -2)}`);
  add('signature 4n+1 long', `${h}.${p}.${s}A`);
  add('signature of zeros', `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`);
  add('signature too long', `${h}.${p}.${s}AAAA`);
  add('signature non-canonical (spare bits)', `${h}.${p}.${nonCanonical(s)}`);
  add('empty signature', `${h}.${p}.`);
  add('two parts', `${h}.${p}`);
  add('four parts', `${good}.${s}`);
  // Payload and header tampering.
  add('tampered payload', `${h}.${b64url({ ...claims, roles: ['admin'] })}.${s}`);
  add('tampered header (extra member)', `${b64url({ ...header, x: 1 })}.${p}.${s}`);
  add('header re-encoded with other spacing', `${b64url(JSON.stringify(header, null, 1))}.${p}.${s}`);
  add('payload non-canonical base64url, signed', await signInput(key, `${h}.${nonCanonical(p)}`));
  add('header non-canonical base64url, signed', await signInput(key, `${nonCanonical(h)}.${p}`));
  add('payload 4n+1 long, signed', await signInput(key, `${h}.${p.length % 4 === 0 ? p + 'A' : p + 'AAAA'.slice(0, (5 - (p.length % 4)) % 4) + 'A'}`));
  add('payload with duplicate keys (last sub wins), signed', await signRaw(key, header, `${JSON.stringify(claims).slice(0, -1)},"sub":"user-2"}`));
  add('payload with __proto__, signed', await signRaw(key, header, `${JSON.stringify(claims).slice(0, -1)},"__proto__":{"admin":true}}`));
  add('payload with a BOM, signed', await signRaw(key, header, `\uFEFF${JSON.stringify(claims)}`));
  add('payload not UTF-8, signed', await signRaw(key, header, Buffer.concat([Buffer.from(JSON.stringify(claims).slice(0, -1)), Buffer.from(',"x":"\xff\xfe"}', 'latin1')])));
  add('payload lone surrogate escape, signed', await signRaw(key, header, `${JSON.stringify(claims).slice(0, -1)},"x":"\\ud800"}`));
  for (const body of ['[]', '"x"', '1', 'null', 'true', '{', '']) add(`payload ${JSON.stringify(body)}, signed`, await signRaw(key, header, body));
  add('header with a BOM', await signInput(key, `${Buffer.from(`\uFEFF${JSON.stringify(header)}`).toString('base64url')}.${p}`));
  add('header not UTF-8', `${Buffer.concat([Buffer.from(JSON.stringify(header).slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]).toString('base64url')}.${p}.${s}`);
  add('header an array', `${b64url([header])}.${p}.${s}`);
  // Header parameters.
  for (const alg of ['none', 'HS256', 'ES256', 'Ed25519', 'eddsa', '']) add(`alg ${alg}`, await signRaw(key, { ...header, alg }, claims));
  add('alg none, no signature', rawToken({ ...header, alg: 'none' }, claims));
  add('HS256 with the public key as secret', hs256Token({ ...header, alg: 'HS256' }, claims, Buffer.from(String(key.publicJwk.x), 'base64url')));
  for (const typ of ['at+jwt', 'JWT', 'application/passport+jwt', 'PASSPORT+JWT', '']) add(`typ ${typ}`, await signRaw(key, { ...header, typ }, claims));
  add('no typ', await signRaw(key, { alg: 'EdDSA', kid: 'k1' }, claims));
  for (const crit of [['exp'], ['b64'], [], 'b64']) add(`crit ${JSON.stringify(crit)}`, await signRaw(key, { ...header, crit, b64: true, exp: 1 }, claims));
  add('b64 false', await signRaw(key, { ...header, b64: false }, claims));
  add('b64 true', await signRaw(key, { ...header, b64: true }, claims));
  add('embedded jwk', await signRaw(key, { ...header, jwk: key.publicJwk }, claims));
  add('jku', await signRaw(key, { ...header, jku: 'http://127.0.0.1:1/jwks.json' }, claims));
  // Keys: the kid picks a JWK of the set only if it suits EdDSA.
  for (const kid of ['ghost', 'es', 'ed448', 'new-alg-name', 'enc', 'ops-sign', 'ops-verify', 'no-alg', 'twin', 'private', 'weak', '../k1', 'K1']) {
    add(`kid ${kid}, signed by k1`, await signRaw(key, { ...header, kid }, claims));
  }
  add('no kid', await signRaw(key, { alg: 'EdDSA', typ: PASSPORT_TYP }, claims));
  add('kid a number', await signRaw(key, { ...header, kid: 1 }, claims));
  const weakHeader = b64url({ ...header, kid: 'weak' });
  add('kid weak, small-order signature', `${weakHeader}.${p}.${Buffer.concat([Buffer.from(String(jwks.keys.at(-1)?.x), 'base64url'), Buffer.alloc(32)]).toString('base64url')}`);
  // Times, with the leeway.
  await signed('expired beyond the leeway', { nowSec: now - 30, claims: { exp: now - TOLERANCE - 1 } });
  await signed('expired at the leeway', { nowSec: now - 30, claims: { exp: now - TOLERANCE } });
  await signed('expired within the leeway', { nowSec: now - 30, claims: { exp: now - TOLERANCE + 1 } });
  await signed('nbf beyond the leeway', { claims: { nbf: now + TOLERANCE + 1 } });
  await signed('nbf at the leeway', { claims: { nbf: now + TOLERANCE } });
  await signed('iat beyond the leeway', { nowSec: now + TOLERANCE + 1 });
  await signed('iat at the leeway', { nowSec: now + TOLERANCE });
  await signed('older than maxTokenAge', { nowSec: now - MAX_AGE - TOLERANCE - 1, claims: { exp: now + 600 } });
  await signed('as old as maxTokenAge plus leeway', { nowSec: now - MAX_AGE - TOLERANCE, claims: { exp: now + 600 } });
  await signed('iat fractional', { claims: { iat: now - 0.5 } });
  await signed('exp huge', { claims: { exp: 1e308 } });
  for (const [claim, value] of [['iat', '1'], ['exp', '9999999999'], ['nbf', 'now'], ['exp', null], ['nbf', null], ['iat', null]] as const) {
    await signed(`${claim} ${JSON.stringify(value)}`, { claims: { [claim]: value } });
  }
  // iss, aud.
  await signed('other issuer', { claims: { iss: 'http://evil.example' } });
  await signed('issuer with a trailing slash', { claims: { iss: `${ISSUER}/` } });
  await signed('issuer a list', { claims: { iss: [ISSUER] } });
  await signed('other audience', { claims: { aud: 'admin' } });
  await signed('audience list holding ours', { claims: { aud: [AUDIENCE, 'admin'] } });
  await signed('audience list of ours alone', { claims: { aud: [AUDIENCE] } });
  await signed('audience list without ours', { claims: { aud: ['admin', 'billing'] } });
  await signed('audience empty list', { claims: { aud: [] } });
  await signed('audience a number', { claims: { aud: 7 } });
  // Missing or malformed claims, in twos (the first one jose looks for names the cause).
  for (const claim of ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'auth', 'username', 'roles']) {
    await signed(`no ${claim}`, { claims: { [claim]: undefined } });
  }
  await signed('no sub and no iss', { claims: { sub: undefined, iss: undefined } });
  await signed('no exp, wrong aud', { claims: { exp: undefined, aud: 'admin' } });
  await signed('wrong iss, expired', { claims: { iss: 'x', exp: now - 60 }, nowSec: now - 90 });
  await signed('nbf in the future and expired', { nowSec: now - 90, claims: { nbf: now + 60, exp: now - 60 } });
  await signed('roles not strings', { claims: { roles: ['a', 1] } });
  await signed('auth unknown', { claims: { auth: 'password' } });
  await signed('act too deep', { claims: { act: JSON.parse(`${'{"sub":"s","act":'.repeat(9)}{"sub":"s"}${'}'.repeat(9)}`) as unknown } });
  // Size.
  await signed('huge payload', { claims: { pad: 'x'.repeat(9000) } });
  await signed('payload just under the bound', { claims: { pad: 'x'.repeat(5000) } });
  add('huge junk', 'a'.repeat(100_000));
  for (const junk of ['x', 'a.b.c', 'eyJ.eyJ.eyJ', '...', `${h}..${s}`, `.${p}.${s}`, `${h}.${p}.${s}=`, `${h}.${p}.${s.replace(/[-_]/, '+')}`]) add(`junk ${junk.slice(0, 20)}`, junk);
});

describe('the passport verifier agrees with jose jwtVerify (its former implementation)', () => {
  it('on every passport of the corpus, on first lookup and once the key is known', async () => {
    const fresh = (): PassportVerifier =>
      createPassportVerifier({ jwks: () => jwks, issuer: ISSUER, audience: AUDIENCE, now: clock.now, cacheMax: 0, clockToleranceSec: TOLERANCE, maxTokenAgeSec: MAX_AGE });
    // Warm: the key of every kid that has one is known, so these run the synchronous path.
    const warm = fresh();
    for (const [, token] of corpus) await warm.verify(token).catch(() => undefined);
    const accepted: string[] = [];
    const codes = new Set<string>();
    for (const [name, token] of corpus) {
      const expected = await outcome(joseReference(token, jwks));
      expect(await outcome(fresh().verify(token)), `${name} (first lookup)`).toEqual(expected);
      expect(await outcome(warm.verify(token)), `${name} (key known)`).toEqual(expected);
      if (expected.ok) accepted.push(name);
      else codes.add(expected.code);
    }
    // The corpus means something: good ones pass and each kind of refusal is in it.
    expect(accepted).toEqual(expect.arrayContaining(['good', 'good, client passport', 'signature non-canonical (spare bits)', 'payload with duplicate keys (last sub wins), signed', 'expired within the leeway']));
    expect([...codes].sort()).toEqual(
      ['audience_mismatch', 'issuer_mismatch', 'jwks_invalid', 'passport_expired', 'passport_malformed', 'passport_not_yet_valid', 'passport_wrong_type', 'signature_invalid', 'unknown_key'].sort(),
    );
  });

  it('decodes a header exactly as jose decodeProtectedHeader does (base64url, UTF-8, a JSON object)', () => {
    const rules = { typ: PASSPORT_TYP, maxLength: 1 << 20 };
    const segments = ['e30', 'e30A', 'e30B', 'eyJ9', 'W10', 'bnVsbA', 'MQ', 'Ig', '77u_e30', '_-8', 'A', 'AAAAA', 'eyJhbGciOiJFZERTQSJ9', base64url.encode('{"alg":"EdDSA","alg":"none"}')];
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 2000; i++) {
      const json = JSON.stringify({ alg: 'EdDSA', typ: PASSPORT_TYP, kid: 'k1' }).slice(0, Math.floor(random() * 45));
      const mutated = [...base64url.encode(json)].map((c) => (random() < 0.05 ? alphabet[Math.floor(random() * 64)] : c)).join('');
      segments.push(mutated + (random() < 0.3 ? alphabet[Math.floor(random() * 64)] : ''));
    }
    for (const segment of segments) {
      if (segment === '') continue;
      let joseRefuses = false;
      try {
        decodeProtectedHeader(`${segment}.e30.AA`);
      } catch {
        joseRefuses = true;
      }
      const verdict = inspectProtectedHeader(`${segment}.e30.AA`, rules);
      const ourRefusal = !verdict.ok && verdict.reason === 'the protected header is not base64url JSON';
      expect(ourRefusal, segment).toBe(joseRefuses);
    }
  });
});
