import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './defaults.js';
import { ConfigError, loadConfig } from './load-config.js';
import { ENV_KEYS, isNumericLeaf, leavesOf, SCHEMA } from './schema.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
function withFile(json: unknown): NodeJS.ProcessEnv {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof json === 'string' ? json : JSON.stringify(json));
  return { GATEHOUSE_CONFIG: f };
}

describe('loadConfig', () => {
  it('returns the defaults with no file and no environment', () => {
    expect(loadConfig({ env: {} })).toEqual(DEFAULTS);
  });

  it('reads routes from the file and keeps demo routes unless demo is false', () => {
    const env = withFile({
      demo: false,
      routes: [{ path: '/api/orders', upstream: 'http://127.0.0.1:9000', service: 'orders', auth: 'required', roles: ['staff'], scopes: { GET: ['orders:read'], '*': ['orders:write'] } }],
    });
    const c = loadConfig({ env });
    expect(c.demo).toBe(false);
    expect(c.routes).toEqual([
      { path: '/api/orders', upstream: 'http://127.0.0.1:9000', service: 'orders', auth: 'required', roles: ['staff'], scopes: { GET: ['orders:read'], '*': ['orders:write'] } },
    ]);
  });

  it('lets the environment override the file, and flags override both', () => {
    const env = { ...withFile({ port: 9000, session: { touchIntervalSec: 10 } }), GATEHOUSE_PORT: '0', GATEHOUSE_DATA_DIR: '/tmp/x' };
    const c = loadConfig({ env, overrides: { dataDir: '/tmp/y' } });
    expect(c.port).toBe(0);
    expect(c.dataDir).toBe('/tmp/y');
    expect(c.session.touchIntervalSec).toBe(10);
    expect(c.session.slidingTtlSec).toBe(DEFAULTS.session.slidingTtlSec);
  });

  it.each([
    [{ prot: 1 }, /Unknown config key "prot"/],
    [{ session: { slidingTTL: 1 } }, /Unknown config key "session.slidingTTL"/],
    [{ port: '80' }, /"port" must be a whole number/],
    [{ demo: 'yes' }, /"demo" must be a boolean/],
    [{ gateway: { stripHeaders: [1] } }, /"gateway.stripHeaders" must be an array of strings/],
    [{ routes: {} }, /"routes" must be an array/],
    [{ routes: [{ path: 'api', upstream: 'http://127.0.0.1:1', service: 's' }] }, /"routes\[0\].path"/],
    [{ routes: [{ path: '/api/a', upstream: 'ftp://x', service: 's' }] }, /"routes\[0\].upstream"/],
    [{ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1/base', service: 's' }] }, /"routes\[0\].upstream"/],
    [{ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1', service: 's', auth: 'maybe' }] }, /"routes\[0\].auth"/],
    [{ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1', service: 's', role: ['x'] }] }, /Unknown config key "routes\[0\].role"/],
    [{ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1', service: 's', scopes: { get: ['a'] } }] }, /"routes\[0\].scopes.get"/],
    [{ routes: [{ path: '/auth/x', upstream: 'http://127.0.0.1:1', service: 's' }] }, /reserved/],
    // Its passports would carry aud "auth": that service could replay them to the auth service as the user.
    [{ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1', service: 'auth' }] }, /"routes\[0\].service".*"auth" is reserved/],
    [{ passport: { ttlSec: 600 } }, /passport.ttlSec must be 1..60/],
    [{ password: { minLength: 4 } }, /password.minLength/],
    [{ password: { hashNice: 20 } }, /password.hashNice must be from 0 .* to 19/],
    [{ password: { hashNice: -1 } }, /"password.hashNice" must be a whole number >= 0/],
    [{ password: { hashNice: 2.5 } }, /"password.hashNice" must be a whole number >= 0/],
    [{ password: { maxHashWaitMs: 50 } }, /password.maxHashWaitMs must be 100..60000 ms/],
    [{ password: { maxQueuedHashesPerIp: -1 } }, /"password.maxQueuedHashesPerIp" must be a whole number >= 0/],
    [{ tokens: { accessTokenTtlSec: 30 } }, /tokens.accessTokenTtlSec must be 60..3600/],
    [{ tokens: { defaultScopes: ['notes read'] } }, /tokens.defaultScopes/],
    [{ tokens: { defaultScopes: 'notes:read' } }, /"tokens.defaultScopes" must be an array of strings/],
    [{ tokens: { defaultScopes: ['notes:read', 'account'] } }, /tokens.defaultScopes: "account" is never a default/],
    [{ introspection: { clients: {} } }, /"introspection.clients" must be an array/],
    [{ introspection: { clients: [{ id: 'a:b', secretSha256: 'A'.repeat(43) }] } }, /"introspection.clients\[0\].id"/],
    [{ introspection: { clients: [{ id: 'a', secretSha256: 'plain-secret' }] } }, /"introspection.clients\[0\].secretSha256"/],
    [{ introspection: { clients: [{ id: 'a', secretSha256: 'A'.repeat(43), secret: 'x' }] } }, /Unknown config key "introspection.clients\[0\].secret"/],
    [{ introspection: { clients: [{ id: 'a', secretSha256: 'A'.repeat(43) }, { id: 'a', secretSha256: 'B'.repeat(43) }] } }, /Two introspection clients/],
  ])('refuses %j naming the bad key', (json, message) => {
    expect(() => loadConfig({ env: withFile(json) })).toThrow(message);
    expect(() => loadConfig({ env: withFile(json) })).toThrow(ConfigError);
  });

  it('reads token settings and introspection clients', () => {
    const clients = [{ id: 'reports', secretSha256: `${'q1w2-_'.repeat(7)}Z` }];
    const c = loadConfig({ env: withFile({ tokens: { accessTokenTtlSec: 300, defaultScopes: ['orders:read'] }, introspection: { clients } }) });
    expect(c.tokens).toEqual({ accessTokenTtlSec: 300, clientCredentialsTtlSec: 600, defaultScopes: ['orders:read'] });
    expect(c.introspection.clients).toEqual(clients);
  });

  it('reads the abuse limits and refuses nonsense, naming the key', () => {
    const c = loadConfig({
      env: withFile({ signin: { maxFailures: 3, perIpPerMinute: 0 }, signup: { challenge: 'pow', autoChallenge: { globalPerMinute: 100 } }, audit: { retentionDays: 30 } }),
    });
    expect(c.signin).toEqual({ ...DEFAULTS.signin, maxFailures: 3, perIpPerMinute: 0 });
    expect(c.signup.challenge).toBe('pow');
    expect(c.signup.autoChallenge).toEqual({ ...DEFAULTS.signup.autoChallenge, globalPerMinute: 100 });
    expect(c.audit.retentionDays).toBe(30);
    expect(() => loadConfig({ env: withFile({ signup: { challenge: 'captcha' } }) })).toThrow(/signup\.challenge/);
    expect(() => loadConfig({ env: withFile({ signin: { maxFailures: 0 } }) })).toThrow(/signin\.maxFailures/);
    expect(() => loadConfig({ env: withFile({ signin: { lockout: 5 } }) })).toThrow(/Unknown config key "signin\.lockout"/);
    expect(() => loadConfig({ env: withFile({ signup: { challengeMaxNumber: 10 } }) })).toThrow(/signup\.challengeMaxNumber/);
  });

  it('reads routes[].websocket: a boolean, absent by default', () => {
    const route = { path: '/api/a', upstream: 'http://127.0.0.1:1', service: 's' };
    expect(loadConfig({ env: withFile({ routes: [{ ...route, websocket: false }] }) }).routes[0]!.websocket).toBe(false);
    expect(loadConfig({ env: withFile({ routes: [route] }) }).routes[0]!.websocket).toBeUndefined();
    expect(() => loadConfig({ env: withFile({ routes: [{ ...route, websocket: 'no' }] }) })).toThrow('Config key "routes[0].websocket" must be true or false.');
  });

  it('suggests the nearest known key for an unknown one, and nothing when none is close', () => {
    const message = (json: unknown): string => {
      try {
        loadConfig({ env: withFile(json) });
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('no ConfigError');
    };
    expect(message({ prot: 1 })).toMatch(/^Unknown config key "prot" \(did you mean "port"\?\)\. See docs\/configuration\.md/);
    expect(message({ session: { slidingTTL: 1 } })).toContain('Unknown config key "session.slidingTTL" (did you mean "session.slidingTtlSec"?)');
    // The right name in the wrong place: found by its last segment.
    expect(message({ slidingTtlSec: 1 })).toContain('(did you mean "session.slidingTtlSec"?)');
    expect(message({ routes: [{ path: '/api/a', upstream: 'http://127.0.0.1:1', service: 's', role: ['x'] }] })).toContain('"routes[0].role" (did you mean "roles"?)');
    expect(message({ introspection: { clients: [{ id: 'a', secretSha265: 'x' }] } })).toContain('(did you mean "secretSha256"?)');
    expect(message({ colour: 'blue' })).toBe('Unknown config key "colour". See docs/configuration.md for the keys Gatehouse reads.');
  });

  it('names the line and column of invalid JSON, never quoting the file', () => {
    const at = (text: string): string => {
      const env = withFile(text);
      try {
        loadConfig({ env });
      } catch (err) {
        expect((err as Error).message).toContain(env.GATEHOUSE_CONFIG);
        return (err as Error).message.slice((err as Error).message.indexOf('JSON:'));
      }
      throw new Error('no ConfigError');
    };
    // A trailing comma: V8's own message quotes the text around it and names no position.
    expect(at('{\n  "routes": [\n    {"path": "/x"},\n  ],\n  "port": 8080\n}\n')).toBe('JSON: unexpected "]" at line 4, column 3.');
    expect(at('{\n  "port": 8080\n  "demo": false\n}')).toBe('JSON: unexpected "\\"" at line 3, column 3.');
    expect(at('{ nope')).toBe('JSON: unexpected "n" at line 1, column 3.');
    expect(at('{\n  "demo": false\n')).toBe('JSON: it ends too early, at line 3, column 1 (a missing "}", "]" or quote?).');
    expect(at('{"port": 80}\n}')).toBe('JSON: unexpected "}" at line 2, column 1.');
  });

  it('explains a file that is not JSON or cannot be read', () => {
    expect(() => loadConfig({ env: withFile('{ nope') })).toThrow(/not valid JSON/);
    expect(() => loadConfig({ env: { GATEHOUSE_CONFIG: join(dir, 'missing.json') } })).toThrow(/GATEHOUSE_CONFIG.*ENOENT/);
  });

  it('refuses a bad GATEHOUSE_PORT and GATEHOUSE_PUBLIC_URL naming the variable', () => {
    expect(() => loadConfig({ env: { GATEHOUSE_PORT: 'eighty' } })).toThrow(/GATEHOUSE_PORT/);
    expect(() => loadConfig({ env: { GATEHOUSE_PORT: '70000' } })).toThrow(/GATEHOUSE_PORT/);
    expect(() => loadConfig({ env: { GATEHOUSE_PUBLIC_URL: 'not a url' } })).toThrow(/GATEHOUSE_PUBLIC_URL/);
  });
});

describe('operator keys: log, adminPort, metrics', () => {
  it('reads them from the environment and the file', () => {
    const c = loadConfig({ env: { GATEHOUSE_LOG_FORMAT: 'pretty', GATEHOUSE_ADMIN_PORT: '9100', GATEHOUSE_ADMIN_HOST: '10.0.0.2', GATEHOUSE_METRICS_BEARER_SECRET: 'x'.repeat(32) } });
    expect([c.log.format, c.adminPort, c.adminHost, c.metrics.bearerSecret]).toEqual(['pretty', 9100, '10.0.0.2', 'x'.repeat(32)]);
    const f = loadConfig({ env: withFile({ adminPort: 0, log: { access: true, format: 'json' } }) });
    expect([f.adminPort, f.log.access, f.log.format]).toEqual([0, true, 'json']);
    expect(loadConfig({ env: {} })).toMatchObject({ adminPort: null, adminHost: '127.0.0.1', metrics: { bearerSecret: null }, log: { format: 'auto', access: false } });
  });

  it('refuses a bad format, port or short secret', () => {
    expect(() => loadConfig({ env: { GATEHOUSE_LOG_FORMAT: 'xml' } })).toThrow(/log.format .*auto, json or pretty/);
    expect(() => loadConfig({ env: { GATEHOUSE_ADMIN_PORT: '70000' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: withFile({ adminPort: '9100' }) })).toThrow(/adminPort.*port/);
    expect(() => loadConfig({ env: { GATEHOUSE_METRICS_BEARER_SECRET: 'short' } })).toThrow(/at least 32/);
  });
});

describe('the schema drives validation and the environment', () => {
  const nest = (path: string, value: unknown): unknown => path.split('.').reverse().reduce<unknown>((inner, k) => ({ [k]: inner }), value);
  const at = (c: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], c);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it.each(leavesOf(SCHEMA).filter(({ leaf }) => leaf.min !== undefined || leaf.max !== undefined))('refuses $path just outside its range, naming it', ({ path, leaf }) => {
    const outside = [...(leaf.min ? [leaf.min - 1] : []), ...(leaf.max !== undefined ? [leaf.max + 1] : [])];
    expect(outside.length).toBeGreaterThan(0);
    for (const value of outside) expect(() => loadConfig({ env: withFile(nest(path, value)) }), String(value)).toThrow(new RegExp(`^${escape(path)} `));
  });

  it.each(leavesOf(SCHEMA).filter(({ leaf }) => leaf.values))('takes each choice of $path and refuses another, naming it', ({ path, leaf }) => {
    for (const value of leaf.values!) expect(at(loadConfig({ env: withFile(nest(path, value)) }), path)).toBe(value);
    expect(() => loadConfig({ env: withFile(nest(path, 'nope')) })).toThrow(new RegExp(`^${escape(path)} .*must be .*got "nope"`));
  });

  it.each(ENV_KEYS.map((e) => ({ ...e, name: e.env })))('$name sets $path', ({ env, path, leaf }) => {
    if (isNumericLeaf(leaf)) {
      expect(at(loadConfig({ env: { [env]: '4321' } }), path)).toBe(4321);
      expect(() => loadConfig({ env: { [env]: 'x' } })).toThrow(new RegExp(`^${env} must be a whole number`));
      return;
    }
    // The first sample the key accepts (URL keys take only their kind of URL).
    const samples = [...(leaf.values ?? []).slice(1), 'postgres://h/d', 'redis://h:6379', 'smtp://h:587', 'http://10.0.0.1:9000', 'x'.repeat(40), '3'];
    const value = samples.find((v) => {
      try {
        loadConfig({ env: { [env]: v } });
        return true;
      } catch {
        return false;
      }
    });
    expect(value, env).toBeDefined();
    expect(at(loadConfig({ env: { [env]: value } }), path)).toBe(value);
    expect(at(loadConfig({ env: { [env]: '' } }), path)).toEqual(leaf.default);
  });
});
