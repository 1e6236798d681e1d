import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors/index.js';
import { RouteTable, compileRoute, routingPath, signinLocation } from './routing.js';

const route = (path: string) => compileRoute({ path, upstream: 'http://127.0.0.1:1', service: path.slice(1) || 'root', auth: 'none' }, 1024);

describe('route table', () => {
  const table = new RouteTable([route('/api'), route('/api/notes'), route('/api/notes/shared')]);
  it('matches the longest prefix on segment boundaries', () => {
    expect(table.match('/api/notes')?.prefix).toBe('/api/notes');
    expect(table.match('/api/notes/')?.prefix).toBe('/api/notes');
    expect(table.match('/api/notes/1')?.prefix).toBe('/api/notes');
    expect(table.match('/api/notes/shared/x')?.prefix).toBe('/api/notes/shared');
    expect(table.match('/api/notesX')?.prefix).toBe('/api');
    expect(table.match('/apiX')).toBeUndefined();
    expect(table.match('/other')).toBeUndefined();
  });
  it('paths shorter than the longer prefixes still find theirs; "/" takes what nothing else does', () => {
    expect(table.match('/api')?.prefix).toBe('/api');
    expect(table.match('/ap')).toBeUndefined();
    const withRoot = new RouteTable([route('/auth/device/authorize'), route('/'), route('/a')]);
    expect(withRoot.match('/a')?.prefix).toBe('/a');
    expect(withRoot.match('/')?.prefix).toBe('/');
    expect(withRoot.match('/auth/device')?.prefix).toBe('/');
    expect(withRoot.match('/auth/device/authorize/x')?.prefix).toBe('/auth/device/authorize');
  });
  it('refuses route paths that are not plain', () => {
    expect(() => route('api')).toThrow();
    expect(() => route('/api/../x')).toThrow();
    expect(() => route('/api?x')).toThrow();
  });
});

describe('routingPath', () => {
  it('returns the raw path when nothing needs decoding', () => {
    expect(routingPath('/api/notes/1')).toBe('/api/notes/1');
  });
  it('decodes percent-encoding so routing sees what the upstream will see', () => {
    expect(routingPath('/api/%6eotes')).toBe('/api/notes');
  });
  it.each([
    '/api/notes/../admin',
    '/api/notes/./x',
    '/api/notes/..',
    '/api/%2e%2e/admin',
    '/api/%2E/x',
    '/api/notes%2f..%2fadmin',
    '/api/notes%2Fx',
    '/api/notes%5cx',
    '/api\\notes',
    '//api/notes',
    '/api//notes',
    '/api/%zz',
    '/api/%00',
    '/api/%252e%252e/admin',
  ])('refuses %s with invalid_request', (p) => {
    const r = routingPath(p);
    expect(r).toBeInstanceOf(GatehouseError);
    expect((r as GatehouseError).code).toBe('invalid_request');
  });
});

describe('signinLocation', () => {
  it('keeps a same-origin path and query, encoded', () => {
    expect(signinLocation('/api/home?x=1&y=//evil')).toBe('/signin?next=%2Fapi%2Fhome%3Fx%3D1%26y%3D%2F%2Fevil');
  });
  it('never makes an off-site next', () => {
    expect(signinLocation('//evil.example/x')).toBe('/signin?next=%2F');
    expect(signinLocation('//evil.example/x', true)).toBe('/signin?next=%2F&reason=signed_out');
    expect(signinLocation('/\\evil.example')).toBe('/signin?next=%2F');
    expect(signinLocation('https://evil.example/')).toBe('/signin?next=%2F');
  });
});
