import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProviderHandle } from '../federation/oidc-provider.test-helpers.js';
import { killLeftovers, removeTempDirs, scaleOutReady, startTwoInstances, type TwoInstances, whoami } from './cluster.test-helpers.js';

// Issue 15, scale-out: a federation sign-in started on instance A (its gateway and auth service)
// finishes on instance B, as a load balancer without sticky sessions may send the provider's
// redirect; the transaction travels only in the sealed cookie (the shared master key opens it),
// and the session it makes works on both. A link started on B finishes on A.

const SUITE = 'federation scale-out tests';
const ready = await scaleOutReady(SUITE);

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

/** name=value cookies of a browser (the instances share one public host). */
function cookiesOf(res: Response, into: Map<string, string>): void {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    const value = pair!.slice(eq + 1).trim();
    if (value === '' || /max-age=0/i.test(line)) into.delete(pair!.slice(0, eq).trim());
    else into.set(pair!.slice(0, eq).trim(), value);
  }
}
const header = (jar: Map<string, string>): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

describe.skipIf(!ready)('federation across two instances on PostgreSQL + Redis', () => {
  let cluster: TwoInstances | undefined;
  let idp: OidcProviderHandle;
  let A: string;
  let B: string;

  beforeAll(async () => {
    cluster = await startTwoInstances({
      dbPrefix: 'gh_fed',
      setup: async ({ gatewayA }) => {
        idp = await startOidcProvider({ redirectUri: `http://127.0.0.1:${gatewayA}/auth/federation/corp/callback` });
        return {
          config: { federation: { providers: [{ id: 'corp', type: 'oidc', name: 'Corp SSO', issuer: idp.issuer, clientId: idp.clientId, clientSecretEnv: 'CORP_SECRET' }] } },
          env: { CORP_SECRET: idp.clientSecret },
        };
      },
    });
    ({ A, B } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await idp?.close();
  });

  const get = async (base: string, path: string, jar: Map<string, string>, accept = 'text/html') => {
    const res = await fetch(`${base}${path}`, { redirect: 'manual', headers: { cookie: header(jar), accept } });
    cookiesOf(res, jar);
    return res;
  };

  it('starts on A, finishes on B: signed in, the session works on A and B', async () => {
    const jar = new Map<string, string>();
    const start = await get(A, '/auth/federation/corp/start?next=%2Fnotes', jar);
    expect(start.status).toBe(302);
    const callback = await idp.signIn(start.headers.get('location')!);
    const done = await get(B, callback.pathname + callback.search, jar, 'application/json');
    expect(done.status, await done.clone().text()).toBe(302);
    expect(done.headers.get('location')).toBe('/notes');
    for (const base of [A, B]) {
      const w = await whoami(base, { cookie: header(jar) });
      expect(w.status, base).toBe(200);
      expect(w.claims?.username).toBe('alice');
    }
  });

  it('a link started on B finishes on A with the same session; a replay of that callback on B is refused', async () => {
    const jar = new Map<string, string>();
    // Sign in first (started on B, finished on A this time), then link the provider again: already linked, so it just succeeds.
    const start = await get(B, '/auth/federation/corp/start', jar);
    const cb = await idp.signIn(start.headers.get('location')!);
    expect((await get(A, cb.pathname + cb.search, jar)).status).toBe(302);
    const link = await fetch(`${B}/auth/federation/corp/link`, { method: 'POST', headers: { cookie: header(jar), origin: A, 'x-csrf-token': jar.get('gatehouse_csrf') ?? '' } });
    cookiesOf(link, jar);
    expect(link.status, await link.clone().text()).toBe(200);
    const linked = await idp.signIn(((await link.json()) as { url: string }).url);
    const txCookie = jar.get('gatehouse_federation')!;
    const done = await get(A, linked.pathname + linked.search, jar, 'application/json');
    expect(done.status, await done.clone().text()).toBe(302);
    expect(done.headers.get('location')).toBe('/account');
    // The same callback on B with the old transaction cookie: the code was used once already.
    const replay = await get(B, linked.pathname + linked.search, new Map([...jar, ['gatehouse_federation', txCookie]]), 'application/json');
    expect(replay.status).toBe(400);
  });
});
