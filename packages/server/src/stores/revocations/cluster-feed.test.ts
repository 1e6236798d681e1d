import { describe, expect, it } from 'vitest';
import type { RevocationEvent } from '../types.js';
import { ClusterRevocationFeed, type FeedRelay } from './cluster-feed.js';
import { InProcessRevocationFeed } from './in-process-feed.js';

/** Two processes' feeds joined by a relay whose delivery is under the test's control. */
function pair() {
  const feeds: ClusterRevocationFeed[] = [];
  const inboxes: Array<(e: RevocationEvent) => void> = [];
  const sent: Array<{ to: number; event: RevocationEvent; deliver: () => void }> = [];
  const relay = (me: number): FeedRelay => ({
    send: (event) =>
      new Promise<void>((resolve) => {
        const to = 1 - me;
        sent.push({ to, event, deliver: () => (inboxes[to]!(event), resolve()) });
      }),
    receive: (handler) => void (inboxes[me] = handler),
  });
  for (const me of [0, 1]) feeds.push(new ClusterRevocationFeed(new InProcessRevocationFeed(), relay(me)));
  return { feeds, sent };
}

const ev: RevocationEvent = { type: 'session', sid: 's1', at: 1 };

describe('ClusterRevocationFeed', () => {
  it('delivers here at once, and resolves only once the sibling has delivered too', async () => {
    const { feeds, sent } = pair();
    const here: RevocationEvent[] = [];
    const there: RevocationEvent[] = [];
    feeds[0]!.subscribe((e) => here.push(e));
    feeds[1]!.subscribe((e) => there.push(e));
    let resolved = false;
    const p = feeds[0]!.publish(ev).then(() => (resolved = true));
    await Promise.resolve();
    expect(here).toEqual([ev]);
    expect(there).toEqual([]);
    await new Promise((r) => setTimeout(r, 5));
    expect(resolved, 'publish resolved before the sibling delivered').toBe(false);
    expect(sent).toHaveLength(1);
    sent[0]!.deliver();
    await p;
    expect(there).toEqual([ev]);
  });

  it('an event from a sibling is delivered here and not sent back (no echo)', async () => {
    const { feeds, sent } = pair();
    const there: RevocationEvent[] = [];
    feeds[1]!.subscribe((e) => there.push(e));
    const p = feeds[0]!.publish(ev);
    await new Promise((r) => setTimeout(r, 0));
    sent[0]!.deliver();
    await p;
    expect(there).toEqual([ev]);
    expect(sent).toHaveLength(1);
  });
});
