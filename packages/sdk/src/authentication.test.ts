import { describe, expect, it } from 'vitest';
import { meetsAuthentication, requireAuthentication } from './authorization.js';
import { toPassportClaims } from './claims-check.js';
import { PassportError } from './errors.js';
import { refusalFor } from './problem.js';

/* Issue 17: how the user signed in (amr, auth_time) as a service sees it, and the helper that requires it. */

const base = { iss: 'https://gh.example', aud: 'orders', iat: 1_700_000_000, exp: 1_700_000_060, jti: 'j1', sub: 'u1', username: 'ada', roles: [], sid: 's1', did: 'd1', auth: 'session' };
const NOW_MS = 1_700_000_030_000;

function caught(fn: () => void): PassportError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PassportError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('amr and auth_time claims', () => {
  it('are kept (amr frozen) when well-formed, absent when the passport has none', () => {
    const claims = toPassportClaims({ ...base, amr: ['pwd', 'otp', 'mfa'], auth_time: 1_700_000_000 });
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(Object.isFrozen(claims.amr)).toBe(true);
    expect(claims.auth_time).toBe(1_700_000_000);
    const none = toPassportClaims(base);
    expect(none.amr).toBeUndefined();
    expect(none.auth_time).toBeUndefined();
  });

  it('a mistyped amr or auth_time, or either on a client passport, is passport_malformed', () => {
    const client = { iss: base.iss, aud: base.aud, iat: base.iat, exp: base.exp, jti: 'j', sub: 'billing', client_id: 'billing', roles: [], auth: 'client' };
    for (const payload of [{ ...base, amr: 'pwd' }, { ...base, amr: ['pwd', 1] }, { ...base, auth_time: '1700000000' }, { ...client, amr: ['pwd'] }, { ...client, auth_time: 1 }]) {
      expect(caught(() => toPassportClaims(payload)).code).toBe('passport_malformed');
    }
  });
});

describe('requireAuthentication', () => {
  const pwd = toPassportClaims({ ...base, amr: ['pwd'], auth_time: 1_700_000_000 });
  const mfa = toPassportClaims({ ...base, amr: ['hwk', 'user', 'mfa'], auth_time: 1_700_000_000 });
  const apiToken = toPassportClaims({ ...base, sid: undefined, did: undefined, auth: 'api_token', scope: 'orders:read' });

  it('mfa: passes amr with mfa, refuses a password alone and a passport without amr (API token)', () => {
    expect(() => requireAuthentication(mfa, { mfa: true })).not.toThrow();
    for (const claims of [pwd, apiToken]) {
      const err = caught(() => requireAuthentication(claims, { mfa: true }));
      expect([err.code, err.status, err.required]).toEqual(['insufficient_user_authentication', 401, 'mfa']);
      expect(meetsAuthentication(claims, { mfa: true })).toBe(false);
    }
  });

  it('maxAgeSec: passes a sign-in exactly that old, refuses one a second older or without auth_time', () => {
    expect(() => requireAuthentication(pwd, { maxAgeSec: 30, now: NOW_MS })).not.toThrow();
    const err = caught(() => requireAuthentication(pwd, { maxAgeSec: 29, now: NOW_MS }));
    expect([err.code, err.required, err.maxAgeSec]).toEqual(['insufficient_user_authentication', 'max_age', 29]);
    expect(caught(() => requireAuthentication(apiToken, { maxAgeSec: 3600, now: NOW_MS })).required).toBe('max_age');
  });

  it('refusalFor answers RFC 9470: 401, Bearer error="insufficient_user_authentication" with max_age', () => {
    const refusal = refusalFor(caught(() => requireAuthentication(pwd, { maxAgeSec: 10, now: NOW_MS })));
    expect(refusal.status).toBe(401);
    expect(refusal.headers['www-authenticate']).toMatch(/^Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="[^"]+", max_age=10$/);
    expect(refusal.body).toMatchObject({ code: 'insufficient_user_authentication', status: 401 });
    expect(refusalFor(caught(() => requireAuthentication(pwd, { mfa: true }))).headers['www-authenticate']).not.toContain('max_age');
  });
});
