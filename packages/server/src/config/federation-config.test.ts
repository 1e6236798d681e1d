/**
 * `federation.providers` and `federation.timeoutMs` (issue 15): defaults filled in, every bad
 * provider refused at load with a message naming the key and what to write instead.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-federation-config-'));
function withFile(json: unknown, extraEnv: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(json));
  return { GATEHOUSE_CONFIG: f, ...extraEnv };
}
const providers = (...list: unknown[]) => ({ federation: { providers: list } });
const google = { id: 'google', type: 'oidc', name: 'Google', issuer: 'https://accounts.google.com', clientId: 'cid', clientSecretEnv: 'GOOGLE_SECRET' };
const github = { id: 'github', type: 'github', name: 'GitHub', clientId: 'gh', clientSecret: 'literal-secret' };

describe('federation config', () => {
  it('fills in the defaults of each type', () => {
    const c = loadConfig({ env: withFile(providers(google, github), { GOOGLE_SECRET: 's3cret' }) });
    expect(c.federation.timeoutMs).toBe(5000);
    expect(c.federation.providers).toEqual([
      { ...google, scopes: ['openid', 'email', 'profile'], allowSignup: true, linkByVerifiedEmail: false },
      {
        ...github,
        scopes: ['read:user', 'user:email'],
        allowSignup: true,
        linkByVerifiedEmail: false,
        authorizationUrl: 'https://github.com/login/oauth/authorize',
        tokenUrl: 'https://github.com/login/oauth/access_token',
        apiUrl: 'https://api.github.com',
      },
    ]);
  });

  it('takes http on loopback addresses only (development and tests)', () => {
    for (const issuer of ['http://127.0.0.1:9000', 'http://127.8.9.10', 'http://[::1]:8080/realms/x', 'http://localhost:3000']) {
      const c = loadConfig({ env: withFile(providers({ ...google, issuer }), { GOOGLE_SECRET: 's' }) });
      expect(c.federation.providers[0]!.issuer).toBe(issuer);
    }
  });

  it.each([
    [providers({ ...google, issuer: 'http://idp.example.com' }), /"federation.providers\[0\].issuer": http is refused for idp.example.com .*use https/],
    [providers({ ...google, issuer: 'http://10.0.0.1' }), /http is refused for 10.0.0.1/],
    [providers({ ...google, issuer: 'http://127.0.0.1.nip.io' }), /http is refused/],
    [providers({ ...github, apiUrl: 'http://api.example.com' }), /"federation.providers\[0\].apiUrl": http is refused/],
    [providers({ ...google, issuer: 'https://user:pw@idp.example.com' }), /without user, password, query or fragment/],
    [providers({ ...google, issuer: undefined }), /"federation.providers\[0\].issuer" is required/],
    [providers(google, { ...github, id: 'google' }), /Two federation providers have the id "google"/],
    [providers({ ...google, id: 'Google/../x' }), /"federation.providers\[0\].id" must be 1 to 32 lower-case/],
    [providers({ ...google, type: 'saml' }), /"federation.providers\[0\].type" must be "oidc" or "github"/],
    [providers({ ...google, clientSecret: 'x' }), /exactly one of "clientSecretEnv" .* or "clientSecret"/],
    [providers({ ...github, clientSecret: undefined }), /exactly one of/],
    [providers({ ...google, clientSecretEnv: 'not a name' }), /clientSecretEnv" must be the name of an environment variable/],
    [providers({ ...google, scopes: ['email'] }), /must include "openid"/],
    [providers({ ...google, scopes: [] }), /"federation.providers\[0\].scopes" must be a non-empty array/],
    [providers({ ...google, tokenUrl: 'https://x' }), /"federation.providers\[0\].tokenUrl" is for "github" providers only/],
    [providers({ ...github, issuer: 'https://x' }), /"federation.providers\[0\].issuer" is for "oidc" providers only/],
    [providers({ ...google, allowSignup: 'yes' }), /allowSignup" must be true or false/],
    [providers({ ...google, clientid: 'x' }), /Unknown config key "federation.providers\[0\].clientid" \(did you mean "clientId"\?\)/],
    [{ federation: { providers: {} } }, /"federation.providers" must be an array/],
    [{ federation: { timeoutMs: 10 } }, /federation.timeoutMs must be 100..60000 ms/],
  ])('refuses %j', (json, message) => {
    expect(() => loadConfig({ env: withFile(json, { GOOGLE_SECRET: 's' }) })).toThrow(message);
  });

  it('refuses to start when the variable named by clientSecretEnv is unset or empty, naming it and printing no secret', () => {
    for (const extra of [{}, { GOOGLE_SECRET: '' }]) {
      let error: unknown;
      try {
        loadConfig({ env: withFile(providers(google, github), extra) });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/"google".*environment variable GOOGLE_SECRET, which is not set/);
      // The other provider's literal secret is not echoed either.
      expect((error as Error).message).not.toContain('literal-secret');
    }
  });
});

describe('the federation examples of the docs', () => {
  const REPO = new URL('../../../../', import.meta.url);
  const blocks = (file: string) =>
    [...readFileSync(new URL(file, REPO), 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as Record<string, unknown>).filter((j) => 'federation' in j);

  it('every config example of docs/federation.md and docs/configuration.md loads as pasted (secrets from the variables it names)', () => {
    const examples = [...blocks('docs/federation.md'), ...blocks('docs/configuration.md')];
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const secrets = { GOOGLE_CLIENT_SECRET: 'x', GITHUB_CLIENT_SECRET: 'x', CORP_OIDC_SECRET: 'x' };
    for (const example of examples) expect(loadConfig({ env: withFile(example, secrets) }).federation.providers.length).toBeGreaterThan(0);
  });
});
