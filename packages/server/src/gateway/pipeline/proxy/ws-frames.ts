import * as ws from 'ws';

/** `ws`'s frame encoder (exported by the package, not declared by @types/ws). */
interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

/*
 * The little the gateway must know of WebSocket framing (RFC 6455 §5.2) to close a proxied
 * connection cleanly while relaying raw bytes: where a frame ends, and what a close frame is.
 *
 * Frames are relayed as bytes (so subprotocols and extensions, permessage-deflate included, pass
 * through untouched and nothing is decoded, unmasked or copied). A close frame written into the
 * middle of a relayed frame would corrupt the stream (the peer reads it as payload), so each
 * direction keeps a FrameTracker: it reads only the 2 to 14 header bytes of each frame and skips
 * over payloads by count. No library tells frame boundaries of a byte stream it does not own:
 * `ws`'s Receiver decodes and reassembles messages and refuses extension bits it did not
 * negotiate itself. The close frames themselves are encoded by `ws` (Sender.frame).
 */

/** Frame boundaries of one direction of a relayed WebSocket byte stream. */
export class FrameTracker {
  /** Header bytes of the frame being read (at most 14: 2 + 8 length + 4 mask). */
  private readonly header = Buffer.alloc(14);
  private headerLength = 0;
  /** How many header bytes this frame has (known after its second byte). */
  private headerNeeded = 2;
  /** Payload bytes of the current frame still to come. */
  private payloadLeft = 0;

  /** Whether the bytes seen so far end exactly at the end of a frame. */
  get atBoundary(): boolean {
    return this.headerLength === 0 && this.payloadLeft === 0;
  }

  /**
   * Reads `chunk` from `from`. With `stopAtBoundary`, stops at the first frame end reached and
   * returns its offset in the chunk (`from` itself when already at one); else reads it all.
   * Returns the offset where reading stopped.
   */
  scan(chunk: Buffer, from = 0, stopAtBoundary = false): number {
    let i = from;
    const n = chunk.length;
    if (stopAtBoundary && this.atBoundary) return i;
    while (i < n) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, n - i);
        this.payloadLeft -= take;
        i += take;
        if (stopAtBoundary && this.payloadLeft === 0) return i;
        continue;
      }
      this.header[this.headerLength++] = chunk[i++]!;
      if (this.headerLength === 2) {
        const b1 = this.header[1]!;
        const len7 = b1 & 0x7f;
        this.headerNeeded = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
      if (this.headerLength >= 2 && this.headerLength === this.headerNeeded) {
        const len7 = this.header[1]! & 0x7f;
        this.payloadLeft = len7 === 126 ? this.header.readUInt16BE(2) : len7 === 127 ? Number(this.header.readBigUInt64BE(2)) : len7;
        this.headerLength = 0;
        this.headerNeeded = 2;
        if (stopAtBoundary && this.payloadLeft === 0) return i;
      }
    }
    return i;
  }
}

/** Close codes the gateway sends (RFC 6455 §7.4.1). */
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;

/**
 * A close frame with `code` and a short `reason` (at most 123 bytes of UTF-8), encoded by `ws`.
 * `mask`: frames to the upstream (the gateway is its client) are masked, those to the client not.
 */
export function closeFrame(code: number, reason: string, mask: boolean): Buffer {
  const text = Buffer.from(reason.slice(0, 120));
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return Buffer.concat(Sender.frame(payload, { fin: true, rsv1: false, opcode: 0x08, mask, readOnly: false }));
}
