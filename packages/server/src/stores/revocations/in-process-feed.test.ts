import { describe, expect, it } from 'vitest';
import type { RevocationEvent } from '../types.js';
import { InProcessRevocationFeed } from './in-process-feed.js';

const ev: RevocationEvent = { type: 'session', sid: 's1', at: 1 };

describe('InProcessRevocationFeed', () => {
  it('runs every handler synchronously inside publish', async () => {
    const feed = new InProcessRevocationFeed();
    const seen: string[] = [];
    feed.subscribe(() => seen.push('a'));
    feed.subscribe(() => seen.push('b'));
    const p = feed.publish(ev);
    expect(seen).toEqual(['a', 'b']); // before awaiting
    await p;
  });

  it('a throwing handler does not stop the others, and is reported', async () => {
    const errors: unknown[] = [];
    const feed = new InProcessRevocationFeed({ onHandlerError: (e) => errors.push(e) });
    const seen: RevocationEvent[] = [];
    feed.subscribe(() => {
      throw new Error('boom');
    });
    feed.subscribe((e) => seen.push(e));
    await expect(feed.publish(ev)).resolves.toBeUndefined();
    expect(seen).toEqual([ev]);
    expect(errors).toHaveLength(1);
  });

  it('unsubscribes, also during a publish, and stops after close', async () => {
    const feed = new InProcessRevocationFeed();
    const seen: string[] = [];
    const offA = feed.subscribe(() => {
      seen.push('a');
      offB();
    });
    const offB = feed.subscribe(() => seen.push('b'));
    await feed.publish(ev); // b still runs this round (snapshot)
    await feed.publish(ev);
    expect(seen).toEqual(['a', 'b', 'a']);
    offA();
    await feed.publish(ev);
    expect(seen).toHaveLength(3);
    feed.subscribe(() => seen.push('c'));
    await feed.close();
    await feed.publish(ev);
    expect(seen).toHaveLength(3);
  });
});
