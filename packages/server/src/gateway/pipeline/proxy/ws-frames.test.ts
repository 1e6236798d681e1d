import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { WsRelay } from './upgrade.js';
import { FrameTracker, closeFrame } from './ws-frames.js';

const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, o: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] } };

/** One frame of `length` payload bytes, encoded by `ws`. */
function frame(length: number, mask: boolean, opcode = 0x02, rsv1 = false): Buffer {
  return Buffer.concat(Sender.frame(Buffer.alloc(length, 7), { fin: true, rsv1, opcode, mask, readOnly: false }));
}

describe('FrameTracker', () => {
  // Every length class: 7-bit, 16-bit and 64-bit lengths, empty payloads, masked or not, RSV1 set.
  const frames = [frame(0, false), frame(5, true), frame(125, false), frame(126, true, 0x01, true), frame(65_535, false), frame(65_536, true), frame(0, true, 0x09), frame(70_000, false)];
  const all = Buffer.concat(frames);
  const ends: number[] = [];
  frames.reduce((at, f) => (ends.push(at + f.length), at + f.length), 0);

  it('finds every frame end, however the bytes are cut into chunks', () => {
    for (const chunkSize of [1, 2, 3, 7, 13, 126, 1000, 65_537, all.length]) {
      const t = new FrameTracker();
      const found: number[] = [];
      for (let base = 0; base < all.length; base += chunkSize) {
        const chunk = all.subarray(base, Math.min(base + chunkSize, all.length));
        let at = 0;
        while (at < chunk.length) {
          const stop = t.scan(chunk, at, true);
          if (stop === at) {
            // At a boundary already: read one byte on (the next frame's first).
            t.scan(chunk.subarray(at, at + 1));
            at += 1;
            continue;
          }
          at = stop;
          if (t.atBoundary) found.push(base + at);
        }
      }
      expect(found, `chunks of ${chunkSize}`).toEqual(ends);
      expect(t.atBoundary).toBe(true);
    }
  });

  it('is not at a boundary inside a header or a payload', () => {
    const t = new FrameTracker();
    const f = frame(300, true);
    t.scan(f.subarray(0, 1));
    expect(t.atBoundary).toBe(false);
    t.scan(f.subarray(1, 10));
    expect(t.atBoundary).toBe(false);
    t.scan(f.subarray(10));
    expect(t.atBoundary).toBe(true);
  });
});

/** A connected pair of TCP sockets on 127.0.0.1: [ours, theirs]. */
async function pair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const ours = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const theirs = await accepted;
  server.close();
  return [ours, theirs];
}

function collect(s: Socket): { bytes: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((r) => s.once('end', () => r()));
  return { bytes: () => Buffer.concat(chunks), ended };
}

async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WsRelay closing', () => {
  it('waits for the frame in flight to end before the close frame, in each direction', async () => {
    const [client, clientSide] = await pair();
    const [upstream, upstreamSide] = await pair();
    const relay = new WsRelay(clientSide, upstreamSide, 0);
    relay.start(Buffer.alloc(0), Buffer.alloc(0));
    const atClient = collect(client);
    const atUpstream = collect(upstream);
    const down = frame(50_000, false);
    const upward = frame(40_000, true);
    // Half of a frame each way, then the close is asked for.
    upstream.write(down.subarray(0, 20_000));
    client.write(upward.subarray(0, 10_000));
    await until(() => atClient.bytes().length === 20_000 && atUpstream.bytes().length === 10_000);
    relay.close('revoked');
    // Nothing is injected mid-frame: the rest of each frame passes, then the close frame.
    upstream.write(down.subarray(20_000));
    client.write(upward.subarray(10_000));
    await Promise.all([atClient.ended, atUpstream.ended]);
    expect(atClient.bytes()).toEqual(Buffer.concat([down, closeFrame(1008, 'credential revoked', false)]));
    const got = atUpstream.bytes();
    expect(got.subarray(0, upward.length)).toEqual(upward);
    // Masked close frame: 0x88, mask bit and length 20 (2 + "credential revoked"), then the mask key and payload.
    const close = got.subarray(upward.length);
    expect([close[0], close[1]]).toEqual([0x88, 0x80 | 20]);
    expect(close.length).toBe(2 + 4 + 20);
    const key = close.subarray(2, 6);
    const payload = Buffer.from(close.subarray(6).map((b, i) => b ^ key[i % 4]!));
    expect(payload.readUInt16BE(0)).toBe(1008);
    expect(payload.subarray(2).toString()).toBe('credential revoked');
    client.destroy();
    upstream.destroy();
  });

  it('bytes after the close are not relayed', async () => {
    const [client, clientSide] = await pair();
    const [upstream, upstreamSide] = await pair();
    const relay = new WsRelay(clientSide, upstreamSide, 0);
    relay.start(Buffer.alloc(0), Buffer.alloc(0));
    const atClient = collect(client);
    relay.close('going_away');
    upstream.write(frame(10, false));
    await atClient.ended;
    expect(atClient.bytes()).toEqual(closeFrame(1001, 'gateway stopping', false));
    client.destroy();
    upstream.destroy();
  });
});
