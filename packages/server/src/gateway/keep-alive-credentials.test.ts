import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashSecret as realHashSecret, randomId } from '../crypto/secrets.js';
import { generateApiToken } from '../credentials/token-formats.js';
import type { UserRecord } from '../stores/types.js';
import { createGatewayHarness, lastReceived, type GatewayHarness, type SignedIn } from './test-helpers.js';

// Every SHA-256 of a secret, counted (the real function still answers).
const hashes = vi.hoisted(() => ({ count: 0 }));
vi.mock('../crypto/secrets.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../crypto/secrets.js')>();
  return {
    ...actual,
    hashSecret: (s: string) => {
      hashes.count++;
      return actual.hashSecret(s);
    },
  };
});

// A connection's session cookie or API token is hashed once while it repeats
// (pipeline/authenticate/connection-hash.ts); another credential on the same connection is
// never taken for the previous one.
let h: GatewayHarness;
let alice: SignedIn;
let bob: SignedIn;
let aliceToken: string;
let bobToken: string;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

async function apiToken(user: UserRecord): Promise<string> {
  const token = generateApiToken();
  await h.deps.stores.apiTokens.create({ id: randomId(), userId: user.id, name: 'script', tokenHash: realHashSecret(token), scopes: [], createdAt: h.clock.now(), expiresAt: null, lastUsedAt: null });
  return token;
}

/** A GET on the one kept-alive connection; the subject of the passport the upstream got, and whether the socket was reused. */
function get(headers: Record<string, string>): Promise<{ status: number; sub: string | undefined; reused: boolean }> {
  const u = new URL(h.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: '/api/home', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        const passport = res.statusCode === 200 ? (lastReceived(h).headers['x-passport'] as string) : undefined;
        const sub = passport === undefined ? undefined : (JSON.parse(Buffer.from(passport.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;
        resolve({ status: res.statusCode ?? 0, sub, reused: req.reusedSocket });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  h = await createGatewayHarness({ routes: (upstream) => [{ path: '/api/home', upstream, service: 'home', auth: 'required' }] });
  alice = await h.signIn(await h.createUser('alice'));
  bob = await h.signIn(await h.createUser('bob'));
  aliceToken = await apiToken(alice.user);
  bobToken = await apiToken(bob.user);
});

afterAll(async () => {
  agent.destroy();
  await h.close();
});

describe('credentials on one keep-alive connection', () => {
  it('the same session cookie again: one hash for the connection, and every request is still its own user', async () => {
    expect((await get({ cookie: alice.cookie })).sub).toBe(alice.user.id);
    const before = hashes.count;
    for (let i = 0; i < 5; i++) {
      const r = await get({ cookie: alice.cookie });
      expect(r).toMatchObject({ status: 200, sub: alice.user.id, reused: true });
    }
    expect(hashes.count).toBe(before);
  });

  it('alternating cookies and API tokens of two users on the one connection: each request gets its own user', async () => {
    const sends: Array<[Record<string, string>, string]> = [
      [{ cookie: alice.cookie }, alice.user.id],
      [{ cookie: bob.cookie }, bob.user.id],
      [{ authorization: `Bearer ${aliceToken}` }, alice.user.id],
      [{ authorization: `Bearer ${bobToken}` }, bob.user.id],
      [{ cookie: bob.cookie }, bob.user.id],
      [{ cookie: alice.cookie }, alice.user.id],
    ];
    const before = hashes.count;
    for (const [headers, sub] of [...sends, ...sends]) {
      const r = await get(headers);
      expect(r).toMatchObject({ status: 200, sub, reused: true });
    }
    // Every change of credential on the connection hashes again: 12 requests, of which two
    // repeat the one before (the first, after the previous test's cookie; the seventh).
    expect(hashes.count - before).toBe(10);
  });

  it('an ended session is refused on the connection that had it remembered', async () => {
    const carol = await h.signIn(await h.createUser('carol'));
    expect((await get({ cookie: carol.cookie })).status).toBe(200);
    await h.deps.feed.publish({ type: 'session', sid: carol.session.id, at: h.clock.now() });
    expect((await get({ cookie: carol.cookie })).status).toBe(401);
  });
});
