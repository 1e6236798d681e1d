import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, nextMessage, openWs, startWsUpstream, type WsUpstream } from '../../src/gateway/websocket.test-helpers.js';
import { signUpAndIn, startGatehouse, tempDataDir, type StartedGatehouse } from './harness.js';

// Issue 16 part 2 through the real `gatehouse start` process: a WebSocket route to a `ws`
// upstream, sign-out closing the open socket with 1008, SIGTERM closing the others with 1001.

let dataDir: string;
let up: WsUpstream;
let gh: StartedGatehouse;

beforeAll(async () => {
  dataDir = tempDataDir();
  up = await startWsUpstream();
  const configFile = join(dataDir, 'gatehouse.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      signin: { perIpPerMinute: 0 },
      signup: { perIpPerMinute: 0, autoChallenge: { perIpPerMinute: 0, globalPerMinute: 0 } },
      routes: [
        { path: '/api/live', upstream: up.url, service: 'live' },
        { path: '/api/lobby', upstream: up.url, service: 'live', auth: 'none' },
        { path: '/api/nows', upstream: up.url, service: 'live', websocket: false },
      ],
    }),
  );
  gh = await startGatehouse(dataDir, { GATEHOUSE_CONFIG: configFile });
});

afterAll(async () => {
  await gh?.stop();
  await up?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('WebSocket through gatehouse start', () => {
  it('a signed-in socket is proxied with a passport; sign-out closes it with 1008; SIGTERM closes the rest with 1001', async () => {
    const b = await signUpAndIn(gh.url, 'ws-e2e');
    const origin = new URL(gh.url).origin;
    const headers = { cookie: b.jar.header(), origin };

    expect((await openWs(`${gh.url}/api/live/room`, { headers: { origin } })).status).toBe(401);
    expect((await openWs(`${gh.url}/api/live/room`, { headers: { ...headers, origin: 'https://evil.example' } })).status).toBe(403);
    expect((await openWs(`${gh.url}/api/nows/room`, { headers })).status).toBe(403);

    const o = await openWs(`${gh.url}/api/live/room`, { headers, protocols: ['chat'] });
    expect(o.status).toBe(101);
    expect(o.ws.protocol).toBe('chat');
    expect(typeof up.upgrades.at(-1)!.headers['x-passport']).toBe('string');
    o.ws.send('hi');
    expect(await nextMessage(o.ws)).toBe('hi');

    const lobby = await openWs(`${gh.url}/api/lobby/room`, { headers });
    expect(lobby.status).toBe(101);
    expect(up.upgrades.at(-1)!.headers['x-passport']).toBeUndefined();

    const end = closed(o.ws);
    const out = await b.fetch('/auth/signout', { method: 'POST', headers: { 'x-csrf-token': b.csrf! } });
    expect(out.status).toBe(204);
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });
    // The anonymous lobby socket is not concerned.
    lobby.ws.send('still');
    expect(await nextMessage(lobby.ws)).toBe('still');

    const goingAway = closed(lobby.ws);
    const code = gh.stop('SIGTERM');
    expect(await goingAway).toEqual({ code: 1001, reason: 'gateway stopping' });
    expect(await code).toBe(0);
  });
});
