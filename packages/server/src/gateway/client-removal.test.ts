import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { issueAccessToken } from '../credentials/access-token.js';
import { clientRemoval } from '../credentials/clients.js';
import { createGatewayHarness, send, type GatewayHarness, type SignedIn } from './test-helpers.js';

/*
 * A removed client's device sessions at the gateway (issue 14 §1, clients remove): the client
 * revocation event also refuses the USER access tokens granted to that client (`client_id`),
 * issued up to the removal's second, cached ones included; first-party tokens and other
 * clients' are untouched. The event is kept as long as such a token lives.
 */

const CHALLENGE = 'Bearer realm="gatehouse", error="invalid_token"';
let h: GatewayHarness;
let alice: SignedIn;

const routes = (upstream: string) => [{ path: '/api/home', upstream, service: 'home', auth: 'required' as const }];
const bearer = (token: string): Array<[string, string]> => [['Authorization', `Bearer ${token}`]];
const home = (token: string) => send(h.url, '/api/home', { headers: bearer(token) });

/** A user access token of alice's session, granted to `clientId` (null: the first-party client). */
async function userToken(clientId: string | null, session = alice.session): Promise<string> {
  return (await issueAccessToken(h.deps, { user: alice.user, session, scope: 'notes:read', clientId })).token;
}

beforeAll(async () => {
  // Client-credentials tokens live 1 min here, user access tokens 10: the entry must outlive the shorter.
  h = await createGatewayHarness({
    routes,
    config: (c) => {
      c.tokens.clientCredentialsTtlSec = 60;
      c.tokens.accessTokenTtlSec = 600;
    },
  });
  alice = await h.signIn(await h.createUser('alice'));
});

afterAll(async () => {
  await h.close();
});

beforeEach(() => {
  h.upstream.received.length = 0;
});

describe('the client revocation event and user access tokens granted to the client', () => {
  it('refuses them on the next request (a cached verification too); first-party and other clients\' tokens go on', async () => {
    const tv = await h.signIn(alice.user, { deviceId: 'tv-1' });
    const tvToken = await userToken('living-room-tv', tv.session);
    const firstParty = await userToken(null, tv.session);
    const otherClient = await userToken('kitchen-tv');
    for (const t of [tvToken, firstParty, otherClient]) expect((await home(t)).status).toBe(200);
    // Verified and cached: the next request is a Map lookup, and must still see the event.
    expect((await home(tvToken)).status).toBe(200);

    await h.deps.feed.publish(clientRemoval(h.deps.config, 'living-room-tv', h.clock.now()).event);
    const res = await home(tvToken);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(CHALLENGE);
    // Its session was not ended by this event alone: the first-party token of the same session works.
    expect((await home(firstParty)).status).toBe(200);
    expect((await home(otherClient)).status).toBe(200);
    // A token first seen after the event (cold verification) is refused as well.
    expect((await home(await userToken('living-room-tv', tv.session))).status).toBe(401);
  });

  it('a token issued in a later second than the removal is not refused by it (a client added again)', async () => {
    await h.deps.feed.publish(clientRemoval(h.deps.config, 'bedroom-tv', h.clock.now()).event);
    expect((await home(await userToken('bedroom-tv'))).status).toBe(401);
    h.clock.advance(1000);
    expect((await home(await userToken('bedroom-tv'))).status).toBe(200);
  });

  it('is kept as long as a user access token lives, not only as long as a client-credentials token', async () => {
    const token = await userToken('garage-tv');
    expect((await home(token)).status).toBe(200);
    const { event, keepUntil } = clientRemoval(h.deps.config, 'garage-tv', h.clock.now());
    // The revocation log keeps it as long, so a gateway started later refuses it too.
    expect(keepUntil - event.at).toBeGreaterThanOrEqual(h.deps.config.tokens.accessTokenTtlSec * 1000);
    await h.deps.feed.publish(event);
    // Past a client token's life and the leeway, within the user token's.
    h.clock.advance(5 * 60_000);
    expect((await home(token)).status).toBe(401);
  });
});
