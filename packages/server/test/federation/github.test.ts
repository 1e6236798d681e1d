/**
 * The GitHub adapter (auth/federation/providers/github.ts) against a node:http stand-in for
 * GitHub's token endpoint and user API on 127.0.0.1, and the provider registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import type { FederationProviderConfig } from '../../src/config/types.js';
import { GithubProvider } from '../../src/auth/federation/providers/github.js';
import { OidcProvider } from '../../src/auth/federation/providers/oidc.js';
import { buildFederationProviders } from '../../src/auth/federation/providers/registry.js';
import { freePort, refusal, startFakeGithub, type FakeGithubHandle, type FakeGithubUser } from './oidc-provider.test-helpers.js';

const REDIRECT = 'http://127.0.0.1:8080/auth/federation/github/callback';

function githubConfig(gh: { url: string; clientId: string }, overrides: Partial<FederationProviderConfig> = {}): FederationProviderConfig {
  return {
    id: 'github',
    type: 'github',
    name: 'GitHub',
    clientId: gh.clientId,
    scopes: ['read:user', 'user:email'],
    allowSignup: true,
    linkByVerifiedEmail: false,
    authorizationUrl: `${gh.url}/login/oauth/authorize`,
    tokenUrl: `${gh.url}/login/oauth/access_token`,
    apiUrl: gh.url,
    ...overrides,
  };
}

describe('GitHub adapter', () => {
  let gh: FakeGithubHandle;
  let github: GithubProvider;
  const octocat = (): FakeGithubUser => ({ id: 583231, login: 'octocat', name: 'The Octocat', email: null, emails: [{ email: 'octocat@github.example', primary: true, verified: true }] });
  beforeAll(async () => {
    gh = await startFakeGithub();
    github = new GithubProvider({ config: githubConfig(gh), clientSecret: gh.clientSecret, timeoutMs: 1000 });
  });
  afterAll(() => gh.close());

  async function signIn(user = octocat()) {
    gh.user = user;
    const { url, transaction } = await github.start({ redirectUri: REDIRECT });
    return { url, transaction, callback: gh.authorize(url) };
  }

  it('happy path: PKCE S256 + state, token exchange, /user and /user/emails; subject is the numeric id as a string', async () => {
    const { url, transaction, callback } = await signIn();
    const auth = new URL(url);
    expect(`${auth.origin}${auth.pathname}`).toBe(`${gh.url}/login/oauth/authorize`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({ client_id: gh.clientId, redirect_uri: REDIRECT, scope: 'read:user user:email', state: transaction.state, code_challenge_method: 'S256' });
    expect(transaction.nonce).toBeUndefined();
    expect(await github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction })).toEqual({
      provider: 'github',
      subject: '583231',
      email: 'octocat@github.example',
      emailVerified: true,
      preferredUsername: 'octocat',
      displayName: 'The Octocat',
    });
  });

  it('an unverified primary email is emailVerified false, even beside a verified secondary one', async () => {
    const user = { ...octocat(), emails: [{ email: 'other@example.com', primary: false, verified: true }, { email: 'octo@example.com', primary: true, verified: false }] };
    const { transaction, callback } = await signIn(user);
    expect(await github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction })).toMatchObject({ email: 'octo@example.com', emailVerified: false });
  });

  it('no email list: the public /user email is kept but never counts as verified', async () => {
    const user = { ...octocat(), email: 'public@example.com', emails: [] };
    const { transaction, callback } = await signIn(user);
    expect(await github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction })).toMatchObject({ email: 'public@example.com', emailVerified: false });
  });

  it('no access to the email list (403 without user:email): signs in, no verified email', async () => {
    const { transaction, callback } = await signIn({ ...octocat(), email: 'public@example.com' });
    gh.emailsFailure = 403;
    try {
      expect(await github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction })).toMatchObject({ subject: '583231', email: 'public@example.com', emailVerified: false });
    } finally {
      gh.emailsFailure = null;
    }
  });

  it('wrong or missing state: refused before the code is redeemed', async () => {
    const { transaction, callback } = await signIn();
    const wrong = new URL(callback);
    wrong.searchParams.set('state', 'x'.repeat(43));
    await refusal(github.finish({ callbackUrl: wrong, redirectUri: REDIRECT, transaction }), 'federation_failed', /state/);
    wrong.searchParams.delete('state');
    await refusal(github.finish({ callbackUrl: wrong, redirectUri: REDIRECT, transaction }), 'federation_failed', /state/);
    // The code was never sent: it still works with the right state.
    await expect(github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction })).resolves.toMatchObject({ subject: '583231' });
  });

  it('code replay and a wrong PKCE verifier: GitHub\'s 200 {"error"} answer is refused', async () => {
    const { transaction, callback } = await signIn();
    await refusal(github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction: { ...transaction, codeVerifier: 'v'.repeat(43) } }), 'federation_failed', /token/);
    const second = await signIn();
    await github.finish({ callbackUrl: second.callback, redirectUri: REDIRECT, transaction: second.transaction });
    await refusal(github.finish({ callbackUrl: second.callback, redirectUri: REDIRECT, transaction: second.transaction }), 'federation_failed', /token/);
  });

  it('API down (503): federation_unavailable with Retry-After', async () => {
    const { transaction, callback } = await signIn();
    gh.apiFailure = 503;
    try {
      await refusal(github.finish({ callbackUrl: callback, redirectUri: REDIRECT, transaction }), 'federation_unavailable', /user api/);
    } finally {
      gh.apiFailure = null;
    }
  });

  it('token endpoint unreachable: federation_unavailable at once', async () => {
    const port = await freePort();
    const dead = new GithubProvider({ config: githubConfig(gh, { tokenUrl: `http://127.0.0.1:${port}/login/oauth/access_token` }), clientSecret: gh.clientSecret, timeoutMs: 1000 });
    const { url, transaction } = await dead.start({ redirectUri: REDIRECT });
    const t0 = Date.now();
    await refusal(dead.finish({ callbackUrl: gh.authorize(url), redirectUri: REDIRECT, transaction }), 'federation_unavailable', /token/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('provider registry', () => {
  const google: FederationProviderConfig = {
    id: 'google',
    type: 'oidc',
    name: 'Google',
    issuer: 'https://accounts.google.com',
    clientId: 'cid',
    clientSecretEnv: 'GOOGLE_SECRET',
    scopes: ['openid', 'email', 'profile'],
    allowSignup: true,
    linkByVerifiedEmail: false,
  };
  const github = githubConfig({ url: 'https://api.github.com', clientId: 'gh' }, { clientSecret: 'literal' });
  const config = { ...DEFAULTS, federation: { providers: [google, github], timeoutMs: 5000 } };

  it('builds each configured provider once, by id, without calling any provider', () => {
    const providers = buildFederationProviders(config, { GOOGLE_SECRET: 's3cret' });
    expect(providers.list.map((p) => [p.id, p.type, p.name])).toEqual([
      ['google', 'oidc', 'Google'],
      ['github', 'github', 'GitHub'],
    ]);
    expect(providers.get('google')).toBeInstanceOf(OidcProvider);
    expect(providers.get('github')).toBeInstanceOf(GithubProvider);
    expect(providers.get('nope')).toBeUndefined();
  });

  it('refuses a missing secret variable by its name, printing no secret', () => {
    for (const env of [{}, { GOOGLE_SECRET: '' }]) {
      let error: unknown;
      try {
        buildFederationProviders(config, env);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/"google".*GOOGLE_SECRET/);
      expect((error as Error).message).not.toContain('literal');
    }
  });

  it('warmUp reports a provider that is down and never throws', async () => {
    const port = await freePort();
    const down = { ...google, issuer: `http://127.0.0.1:${port}` };
    const providers = buildFederationProviders({ ...config, federation: { providers: [down, github], timeoutMs: 500 } }, { GOOGLE_SECRET: 's' });
    await expect(providers.warmUp()).resolves.toEqual(['google']);
  });
});
