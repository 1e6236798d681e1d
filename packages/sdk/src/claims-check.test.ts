import { describe, expect, it } from 'vitest';
import { isClientPassport } from './claims.js';
import { toPassportClaims } from './claims-check.js';

/* The shape checks of a passport whose signature is already verified: users and service clients (issue 14 §3). */

const base = { iss: 'https://gh.example', aud: 'orders', iat: 1_700_000_000, exp: 1_700_000_060, jti: 'j1' };
const client = { ...base, sub: 'billing', client_id: 'billing', roles: [], scope: 'orders:read', auth: 'client' };

describe('toPassportClaims', () => {
  it('accepts a client passport: sub = client_id, no user, told apart from a user by auth', () => {
    const claims = toPassportClaims(client);
    expect(claims).toEqual(client);
    expect(isClientPassport(claims)).toBe(true);
    expect(Object.isFrozen(claims)).toBe(true);
    const user = toPassportClaims({ ...base, sub: 'u1', username: 'alice', roles: ['staff'], sid: 's', did: 'd', auth: 'session' });
    expect(isClientPassport(user)).toBe(false);
    expect(user.auth !== 'client' ? user.username : undefined).toBe('alice');
  });

  it('refuses a client passport that also speaks for a user, or names another client', () => {
    const bad: Array<[string, Record<string, unknown>]> = [
      ['username', { ...client, username: 'alice' }],
      ['sid', { ...client, sid: 's1' }],
      ['did', { ...client, did: 'd1' }],
      ['roles', { ...client, roles: ['admin'] }],
      ['client_id', { ...client, client_id: 'other' }],
      ['no client_id', { ...client, client_id: undefined }],
      ['act', { ...client, act: { sub: 'svc-a' } }],
    ];
    for (const [what, payload] of bad) expect(() => toPassportClaims(payload), what).toThrow(/client passport|client_id/);
  });

  it('a user passport still needs its username', () => {
    expect(() => toPassportClaims({ ...base, sub: 'u1', roles: [], auth: 'access_token' })).toThrow(/username/);
  });
});
