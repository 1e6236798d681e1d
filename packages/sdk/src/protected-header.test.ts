import { describe, expect, it } from 'vitest';
import { inspectProtectedHeader, PassportError } from './index.js';
import { checkProtectedHeader, MAX_PASSPORT_LENGTH } from './protected-header.js';
import { b64url } from './jwks-server.test-helpers.js';

/** The header check never looks at the payload or verifies the signature: any will do. */
const token = (header: unknown): string => `${b64url(header)}.${b64url({ sub: 'u' })}.${b64url('signature')}`;
const AT = { typ: 'at+jwt', maxLength: 16 * 1024 };
const good = { alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' };

describe('inspectProtectedHeader (the one header hardening of the SDK and the server)', () => {
  it('passes a Gatehouse header and returns it with its kid', () => {
    expect(inspectProtectedHeader(token(good), AT)).toEqual({ ok: true, header: good });
  });

  it('requires the typ exactly as Gatehouse writes it: no case or application/ variants (the stricter rule)', () => {
    for (const typ of ['AT+JWT', 'application/at+jwt', 'Application/AT+JWT', 'passport+jwt', 'JWT', '', undefined]) {
      const verdict = inspectProtectedHeader(token({ ...good, typ }), AT);
      expect(verdict, String(typ)).toMatchObject({ ok: false, wrongType: true });
    }
  });

  it('refuses crit and every key-carrying, key-pointing or payload-changing parameter, whatever its value', () => {
    for (const param of ['crit', 'jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'b64']) {
      for (const value of [true, false, 'x', [], {}]) {
        const verdict = inspectProtectedHeader(token({ ...good, [param]: value }), AT);
        expect(verdict, `${param}: ${JSON.stringify(value)}`).toEqual({ ok: false, wrongType: false, reason: `${param} header not accepted` });
      }
    }
  });

  it('refuses a kid that is not a plain identifier', () => {
    for (const kid of ['', '..', 'a..b', '../k1', '/etc/passwd', 'k 1', 'http://evil/k', 'a'.repeat(129), 1, null, undefined]) {
      expect(inspectProtectedHeader(token({ ...good, kid }), AT), String(kid)).toMatchObject({ ok: false, wrongType: false, reason: 'bad kid' });
    }
  });

  it('refuses other algorithms, non-JWS shapes and over-long tokens before decoding anything', () => {
    for (const alg of ['none', 'HS256', 'ES256', 'Ed25519', 'eddsa']) {
      expect(inspectProtectedHeader(token({ ...good, alg }), AT)).toMatchObject({ ok: false, reason: 'unexpected alg' });
    }
    for (const t of ['', 'a.b', 'a.b.', '.b.c', 'a.b.c.d', 'a+b.c.d', `${b64url([1])}.e30.c`]) {
      expect(inspectProtectedHeader(t, AT).ok, t).toBe(false);
    }
    const long = token({ ...good, pad: 'x'.repeat(AT.maxLength) });
    expect(inspectProtectedHeader(long, AT)).toMatchObject({ ok: false, reason: 'token too long' });
    expect(inspectProtectedHeader(undefined as unknown as string, AT)).toMatchObject({ ok: false, wrongType: false });
  });

  it('is what the passport verifier runs: its refusals become passport_wrong_type / passport_malformed', () => {
    const passport = { alg: 'EdDSA', typ: 'passport+jwt', kid: 'k1' };
    expect(checkProtectedHeader(token(passport))).toEqual(passport);
    const codeOf = (t: string): string => {
      try {
        checkProtectedHeader(t);
      } catch (err) {
        expect(err).toBeInstanceOf(PassportError);
        return (err as PassportError).code;
      }
      return 'accepted';
    };
    expect(codeOf(token({ ...passport, typ: 'application/passport+jwt' }))).toBe('passport_wrong_type');
    expect(codeOf(token({ ...passport, typ: 'at+jwt' }))).toBe('passport_wrong_type');
    expect(codeOf(token({ ...passport, x5t: 'abc' }))).toBe('passport_malformed');
    expect(codeOf(token({ ...passport, b64: true }))).toBe('passport_malformed');
    expect(codeOf(token({ ...passport, pad: 'x'.repeat(MAX_PASSPORT_LENGTH) }))).toBe('passport_malformed');
  });
});
