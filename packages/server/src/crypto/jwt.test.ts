import { createHmac, createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors/index.js';
import { ManualClock } from '../util/clock.js';
import { activeSigningKey, signJwt, verifyJwt, type VerifyJwtOptions } from './jwt.js';
import type { ActiveSigningKey } from './keyring-types.js';

const TYP = 'at+jwt';
const ISS = 'http://127.0.0.1:8080';
const AUD = 'gatehouse';
const clock = new ManualClock();
const nowSec = (): number => Math.floor(clock.now() / 1000);
const b64 = (v: string | Uint8Array): string => Buffer.from(v).toString('base64url');
const enc = (o: unknown): string => b64(JSON.stringify(o));

let ours: ActiveSigningKey;
let ourJwk: JWK;
let attacker: ActiveSigningKey & { publicJwk: JWK };
const keys = new Map<string, CryptoKey>();
let opts: VerifyJwtOptions;

async function newKey(): Promise<ActiveSigningKey & { publicJwk: JWK; publicKey: CryptoKey }> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { ...activeSigningKey(await calculateJwkThumbprint(publicJwk), privateKey), publicKey, publicJwk };
}

function claims(over: JWTPayload = {}): JWTPayload {
  return { iss: ISS, aud: AUD, sub: 'user-1', iat: nowSec(), exp: nowSec() + 600, ...over };
}

/** Signs arbitrary header + payload with an Ed25519 key (no library checks on the header). */
async function signRaw(header: Record<string, unknown>, payload: unknown, key: CryptoKey): Promise<string> {
  const input = `${enc(header)}.${enc(payload)}`;
  const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', key, new TextEncoder().encode(input)));
  return `${input}.${b64(sig)}`;
}

async function rejects(token: string, o: Partial<VerifyJwtOptions> = {}): Promise<GatehouseError> {
  const err = await verifyJwt(token, { ...opts, ...o }).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'token was accepted').toBeInstanceOf(GatehouseError);
  const ge = err as GatehouseError;
  expect(ge.code).toBe('invalid_token');
  expect(ge.status).toBe(401);
  expect(ge.detail).toBe('The token is invalid or expired');
  expect(ge.message).toBe('The token is invalid or expired');
  return ge;
}

beforeAll(async () => {
  const k = await newKey();
  ours = activeSigningKey(k.kid, k.privateKey);
  ourJwk = k.publicJwk;
  keys.set(k.kid, k.publicKey);
  attacker = await newKey();
  opts = { typ: TYP, issuer: ISS, audience: AUD, keyring: { publicKey: (kid) => keys.get(kid) }, clock };
});

describe('signJwt / verifyJwt', () => {
  it('signs with alg EdDSA, typ and kid, and verifies it back', async () => {
    const token = await signJwt(claims({ roles: ['admin'] }), { typ: TYP, key: ours });
    const [h] = token.split('.');
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: TYP, kid: ours.kid });
    await expect(verifyJwt(token, opts)).resolves.toMatchObject({ sub: 'user-1', roles: ['admin'], iss: ISS, aud: AUD });
  });

  it('accepts an audience array that contains ours, and enforces requiredClaims', async () => {
    await expect(verifyJwt(await signJwt(claims({ aud: ['other', AUD] }), { typ: TYP, key: ours }), opts)).resolves.toBeTruthy();
    const token = await signJwt(claims(), { typ: TYP, key: ours });
    await rejects(token, { requiredClaims: ['jti'] });
    await expect(verifyJwt(await signJwt(claims({ jti: 'j' }), { typ: TYP, key: ours }), { ...opts, requiredClaims: ['jti'] })).resolves.toBeTruthy();
  });

  it('refuses alg none in any case, with or without a signature', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const unsigned = `${enc({ alg, typ: TYP, kid: ours.kid })}.${enc(claims())}`;
      await rejects(`${unsigned}.`);
      await rejects(`${unsigned}.${b64('sig')}`);
    }
  });

  it('refuses HS256/384/512 tokens keyed with our public key in any encoding', async () => {
    const spki = createPublicKey({ key: ourJwk as never, format: 'jwk' });
    const secrets: (string | Buffer)[] = [
      Buffer.from(ourJwk.x!, 'base64url'),
      ourJwk.x!,
      JSON.stringify(ourJwk),
      JSON.stringify({ ...ourJwk, kid: ours.kid, alg: 'EdDSA', use: 'sig' }),
      spki.export({ format: 'pem', type: 'spki' }),
      spki.export({ format: 'der', type: 'spki' }),
    ];
    for (const [alg, hash] of [['HS256', 'sha256'], ['HS384', 'sha384'], ['HS512', 'sha512']] as const) {
      for (const secret of secrets) {
        const input = `${enc({ alg, typ: TYP, kid: ours.kid })}.${enc(claims())}`;
        await rejects(`${input}.${createHmac(hash, secret).update(input).digest('base64url')}`);
      }
    }
  });

  it('refuses an embedded jwk header, whoever signed the token', async () => {
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: attacker.kid, jwk: attacker.publicJwk }, claims(), attacker.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, jwk: attacker.publicJwk }, claims(), attacker.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, jwk: attacker.publicJwk }, claims(), attacker.privateKey));
    // Even with our valid signature: a token of ours never carries these.
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, jwk: ourJwk }, claims(), ours.privateKey));
  });

  describe('jku / x5u / x5c', () => {
    let server: Server;
    let hits = 0;
    let base = '';
    beforeAll(async () => {
      server = createServer((_req, res) => {
        hits++;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [{ ...attacker.publicJwk, kid: attacker.kid }] }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    it('never fetches a key from the token and refuses the token', async () => {
      for (const kid of [attacker.kid, ours.kid]) {
        await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid, jku: `${base}/jwks.json` }, claims(), attacker.privateKey));
        await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid, x5u: `${base}/cert.pem` }, claims(), attacker.privateKey));
        await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid, x5c: ['MIIB'] }, claims(), attacker.privateKey));
      }
      await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, jku: `${base}/jwks.json` }, claims(), ours.privateKey));
      await new Promise((r) => setTimeout(r, 50));
      expect(hits).toBe(0);
    });
  });

  it('refuses path-like, prototype, unknown and non-string kids', async () => {
    for (const kid of ['../../../../etc/passwd', '/dev/null', 'file:///etc/passwd', '__proto__', 'constructor', '', attacker.kid]) {
      await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid }, claims(), attacker.privateKey));
    }
    for (const kid of [123, null, true, { toString: ours.kid }, [ours.kid]]) {
      await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid }, claims(), ours.privateKey));
    }
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP }, claims(), ours.privateKey));
  });

  it('runs the SDK header rules (inspectProtectedHeader): a kid that is no plain identifier is refused even when it names our key', async () => {
    const k = await newKey();
    for (const kid of ['k 1', 'a..b', 'k1/../k1']) {
      keys.set(kid, k.publicKey);
      await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid }, claims(), k.privateKey));
      keys.delete(kid);
    }
    // Key-fingerprint and payload-encoding parameters, even without crit and with our signature.
    for (const extra of [{ x5t: 'abc' }, { 'x5t#S256': 'abc' }, { b64: true }]) {
      await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, ...extra }, claims(), ours.privateKey));
    }
    // The same key under a plain kid passes: only the header made the difference.
    keys.set('plain-kid', k.publicKey);
    await expect(verifyJwt(await signRaw({ alg: 'EdDSA', typ: TYP, kid: 'plain-kid' }, claims(), k.privateKey), opts)).resolves.toBeTruthy();
    keys.delete('plain-kid');
  });

  it('refuses any crit header, also for parameters the library knows', async () => {
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, crit: ['x-gatehouse'], 'x-gatehouse': 1 }, claims(), ours.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, crit: ['exp'] }, claims(), ours.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, crit: [] }, claims(), ours.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, b64: false, crit: ['b64'] }, claims(), ours.privateKey));
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid, b64: true, crit: ['b64'] }, claims(), ours.privateKey));
  });

  it('refuses a tampered payload or header', async () => {
    const token = await signJwt(claims(), { typ: TYP, key: ours });
    const [h, , s] = token.split('.');
    await rejects(`${h}.${enc(claims({ sub: 'admin' }))}.${s}`);
    await rejects(`${h}.${enc(claims({ roles: ['admin'] }))}.${s}`);
    await rejects(`${enc({ alg: 'EdDSA', typ: TYP, kid: ours.kid, extra: 1 })}.${token.split('.')[1]}.${s}`);
  });

  it('refuses truncated, zeroed, empty and foreign signatures', async () => {
    const token = await signJwt(claims(), { typ: TYP, key: ours });
    const [h, p, s] = token.split('.');
    const sig = Buffer.from(s!, 'base64url');
    await rejects(`${h}.${p}.${b64(sig.subarray(0, 32))}`);
    await rejects(`${h}.${p}.${s!.slice(0, -2)}`);
    await rejects(`${h}.${p}.${b64(Buffer.alloc(64))}`);
    await rejects(`${h}.${p}.`);
    await rejects(`${h}.${p}`);
    // Signed by another Ed25519 key but claiming our kid.
    await rejects(await signRaw({ alg: 'EdDSA', typ: TYP, kid: ours.kid }, claims(), attacker.privateKey));
  });

  it('refuses other algorithms even with our kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    await rejects(await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', typ: TYP, kid: ours.kid }).sign(privateKey));
    await rejects(await signRaw({ alg: 'Ed25519', typ: TYP, kid: ours.kid }, claims(), ours.privateKey));
  });

  it('requires the exact typ', async () => {
    for (const typ of ['JWT', 'passport+jwt', 'application/at+jwt', 'AT+JWT', undefined]) {
      const header: Record<string, unknown> = { alg: 'EdDSA', kid: ours.kid };
      if (typ !== undefined) header.typ = typ;
      await rejects(await signRaw(header, claims(), ours.privateKey));
    }
    // A passport is not an access token and vice versa.
    await rejects(await signJwt(claims(), { typ: 'passport+jwt', key: ours }));
  });

  it('requires our issuer and audience', async () => {
    await rejects(await signJwt(claims({ aud: 'notes' }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ aud: ['notes', 'home'] }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ aud: undefined }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ iss: 'https://evil.example' }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ iss: undefined }), { typ: TYP, key: ours }));
  });

  it('refuses expired tokens, tokens not yet valid and tokens without exp, with the leeway', async () => {
    await rejects(await signJwt(claims({ exp: nowSec() - 6 }), { typ: TYP, key: ours }));
    await expect(verifyJwt(await signJwt(claims({ exp: nowSec() - 4 }), { typ: TYP, key: ours }), opts)).resolves.toBeTruthy();
    await rejects(await signJwt(claims({ exp: nowSec() - 4 }), { typ: TYP, key: ours }), { leewaySec: 0 });
    await rejects(await signJwt(claims({ nbf: nowSec() + 60 }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ iat: nowSec() + 60 }), { typ: TYP, key: ours }));
    await rejects(await signJwt(claims({ exp: undefined }), { typ: TYP, key: ours }));
    // Time comes from the injected clock.
    const token = await signJwt(claims(), { typ: TYP, key: ours });
    clock.advance(601_000 + 5_000);
    await rejects(token);
    clock.advance(-(601_000 + 5_000));
    await expect(verifyJwt(token, opts)).resolves.toBeTruthy();
  });

  it('refuses garbage without leaking library text', async () => {
    for (const t of ['', 'x', 'a.b.c', '...', `${b64('not json')}.${enc(claims())}.${b64('s')}`, `${enc([1])}.${enc(claims())}.x`, 'e'.repeat(20_000)]) {
      const err = await rejects(t);
      expect(err.message).not.toMatch(/jose|JWS|JWT|JSON/);
    }
    await rejects(undefined as unknown as string);
  });
});
