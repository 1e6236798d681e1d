/**
 * The authenticator registry (issue 13): the chain is built once, from named registrations, in
 * the order they are declared; a name is unique and looked up by name.
 */
import { describe, expect, it } from 'vitest';
import type { Deps } from '../../../context.js';
import type { RevocationSet } from '../../revocation-set.js';
import { runChain } from './chain.js';
import { AUTHENTICATORS, AuthenticatorRegistry, type AuthenticatorContext, type AuthenticatorRegistration } from './registry.js';
import type { AuthInput, Identity } from './types.js';

const ctx: AuthenticatorContext = { deps: {} as Deps, revocations: {} as RevocationSet, dropPassports: () => {}, countDegraded: () => {} };

function identity(name: string): Identity {
  return { auth: 'session', user: { id: name, username: name, roles: [] }, sid: undefined, did: undefined, scopes: undefined, csrfToken: undefined, cacheKey: name, stamp: '' };
}

/** A registration whose authenticator claims requests carrying `header`, and records its closing. */
function fake(name: string, header: keyof AuthInput, closed: string[]): AuthenticatorRegistration {
  return {
    name,
    build: () => ({
      authenticator: { name, authenticate: (input: AuthInput) => (input[header] === undefined ? null : identity(name)) },
      close: () => closed.push(name),
    }),
  };
}

describe('authenticator registry', () => {
  it('declares bearer before the session cookie: when both credentials come, the bearer token decides', () => {
    expect(AUTHENTICATORS.map((r) => r.name)).toEqual(['bearer', 'session_cookie']);
  });

  it('builds the chain in the declared order, once; the first authenticator that claims a request decides', () => {
    const closed: string[] = [];
    const registry = new AuthenticatorRegistry(ctx, [fake('bearer', 'authorization', closed), fake('session_cookie', 'sessionCookie', closed)]);
    expect(registry.available()).toEqual(['bearer', 'session_cookie']);
    expect(registry.chain.map((a) => a.name)).toEqual(['bearer', 'session_cookie']);
    expect(registry.chain).toBe(registry.chain);
    expect(runChain(registry.chain, { authorization: 'Bearer x', sessionCookie: 'c' })).toMatchObject({ cacheKey: 'bearer' });
    expect(runChain(registry.chain, { authorization: undefined, sessionCookie: 'c' })).toMatchObject({ cacheKey: 'session_cookie' });
    expect(runChain(registry.chain, { authorization: undefined, sessionCookie: undefined })).toBeNull();
    expect(registry.get('session_cookie')).toBe(registry.chain[1]);
    registry.close();
    expect(closed).toEqual(['bearer', 'session_cookie']);
  });

  it('a new credential kind takes its place in the chain by its place in the list', () => {
    const registry = new AuthenticatorRegistry(ctx, [fake('session_cookie', 'sessionCookie', []), fake('bearer', 'authorization', [])]);
    expect(runChain(registry.chain, { authorization: 'Bearer x', sessionCookie: 'c' })).toMatchObject({ cacheKey: 'session_cookie' });
  });

  it('refuses a name registered twice and names the known ones for an unknown name', () => {
    expect(() => new AuthenticatorRegistry(ctx, [fake('bearer', 'authorization', []), fake('bearer', 'sessionCookie', [])])).toThrow(/bearer is registered twice/);
    const registry = new AuthenticatorRegistry(ctx, [fake('bearer', 'authorization', [])]);
    expect(() => registry.get('client_credentials')).toThrow(/no authenticator is registered as client_credentials \(known: bearer\)/);
  });
});
