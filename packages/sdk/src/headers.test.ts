import { describe, expect, it } from 'vitest';
import { PassportError, hasRole, hasScope, passportFromHeaders, requireRole } from './index.js';
import type { PassportClaims } from './index.js';

describe('passportFromHeaders', () => {
  it('returns the one passport', () => {
    expect(passportFromHeaders({ 'x-passport': 'a.b.c' })).toBe('a.b.c');
    expect(passportFromHeaders({ 'x-passport': ' a.b.c ' })).toBe('a.b.c');
  });

  it('missing header: passport_missing', () => {
    expect(() => passportFromHeaders({})).toThrow(expect.objectContaining({ code: 'passport_missing' }));
    expect(() => passportFromHeaders({ 'x-passport': [] })).toThrow(expect.objectContaining({ code: 'passport_missing' }));
  });

  it('several or empty values: passport_malformed', () => {
    for (const value of [['a.b.c', 'a.b.c'], ['a.b.c'], 'a.b.c, d.e.f', 'a.b.c,a.b.c', '', '   ']) {
      let err: unknown;
      try {
        passportFromHeaders({ 'x-passport': value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PassportError);
      expect(err).toMatchObject({ code: 'passport_malformed' });
    }
  });
});

describe('role and scope helpers', () => {
  const claims = {
    iss: 'i',
    aud: 'a',
    sub: 's',
    iat: 0,
    exp: 1,
    jti: 'j',
    username: 'u',
    roles: ['user', 'admin'],
    scope: 'notes:read notes:write',
    auth: 'access_token',
  } satisfies PassportClaims;

  it('hasRole / requireRole', () => {
    expect(hasRole(claims, 'admin')).toBe(true);
    expect(hasRole(claims, 'adm')).toBe(false);
    expect(() => requireRole(claims, 'admin')).not.toThrow();
    expect(() => requireRole(claims, 'root')).toThrow(expect.objectContaining({ code: 'forbidden' }));
  });

  it('hasScope matches whole scopes only, and a session passport has none', () => {
    expect(hasScope(claims, 'notes:read')).toBe(true);
    expect(hasScope(claims, 'notes')).toBe(false);
    expect(hasScope(claims, 'notes:read notes:write')).toBe(false);
    expect(hasScope(claims, '')).toBe(false);
    const { scope: _scope, ...session } = claims;
    expect(hasScope({ ...session, auth: 'session' }, 'notes:read')).toBe(false);
  });
});
