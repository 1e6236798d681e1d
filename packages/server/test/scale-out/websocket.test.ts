import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closed, nextMessage, openWs, startWsUpstream, type WsUpstream } from '../../src/gateway/websocket.test-helpers.js';
import { killLeftovers, removeTempDirs, scaleOutReady, signUpAndIn, startTwoInstances, type TwoInstances } from './cluster.test-helpers.js';

// Issue 16 part 2 across two instances on PostgreSQL + Redis (two auth services, each behind its
// own gateway): a WebSocket open through gateway B is closed with 1008 when its session signs out
// through gateway A (the revocation reaches B over Redis), and one of another session stays open.

const SUITE = 'WebSocket scale-out tests';
const ready = await scaleOutReady(SUITE);

afterAll(async () => {
  await killLeftovers();
  removeTempDirs();
});

describe.skipIf(!ready)('WebSocket live revocation across two instances', () => {
  let cluster: TwoInstances | undefined;
  let up: WsUpstream;

  beforeAll(async () => {
    up = await startWsUpstream();
    cluster = await startTwoInstances({
      dbPrefix: 'gh_ws',
      // The cached session would be trusted this long without the feed: only the feed can explain a quick close.
      setup: () => ({ config: { session: { cacheTtlMs: 60_000 }, routes: [{ path: '/api/live', upstream: up.url, service: 'live' }] } }),
    });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
    await up?.close();
  });

  it('sign-out on A closes the socket open on B with 1008; another session keeps its socket', async () => {
    const { A, B } = cluster!;
    const origin = new URL(A).origin;
    const s = await signUpAndIn(A, 'ws-scale');
    const other = await signUpAndIn(A, 'ws-scale-2');
    const o = await openWs(`${B}/api/live/room`, { headers: { cookie: s.cookie, origin } });
    const keep = await openWs(`${B}/api/live/room`, { headers: { cookie: other.cookie, origin } });
    expect([o.status, keep.status]).toEqual([101, 101]);
    o.ws.send('ping');
    expect(await nextMessage(o.ws)).toBe('ping');

    const end = closed(o.ws);
    const out = await fetch(`${A}/auth/signout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    expect(out.status).toBe(204);
    expect(await end).toEqual({ code: 1008, reason: 'credential revoked' });

    keep.ws.send('still');
    expect(await nextMessage(keep.ws)).toBe('still');
    keep.ws.close();
  });
});
