import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../util/clock.js';
import { openSqliteStores } from '../sqlite/open-sqlite-stores.js';
import type { RevocationEvent, Stores } from '../types.js';
import { InProcessRevocationFeed } from './in-process-feed.js';
import { revocationEventKey } from './seen-events.js';

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

describe('InProcessRevocationFeed reading the revocation log (single node, no Redis)', () => {
  const INTERVAL = 20;
  let tmp: string;
  let stores: Stores;
  /** Reads of the log (the real store answers). */
  let reads: number;
  let failNext: boolean;

  beforeEach(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gatehouse-feed-'));
    stores = await openSqliteStores({ file: join(tmp, 'gatehouse.db'), clock: systemClock });
    reads = 0;
    failNext = false;
    const since = stores.revocations.since.bind(stores.revocations);
    stores.revocations.since = (t) => {
      reads++;
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('database is locked'));
      }
      return since(t);
    };
  });
  afterEach(async () => {
    await stores.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  const polling = (logger?: { warn: (obj: object, msg?: string) => void }) =>
    new InProcessRevocationFeed({ poll: { revocations: stores.revocations, clock: systemClock, intervalMs: INTERVAL, ...(logger ? { logger } : {}) } });
  const keyed = (seen: RevocationEvent[]) => seen.map(revocationEventKey);

  it('delivers what another process recorded in the log (clients remove) within about an interval, once', async () => {
    const feed = polling();
    const seen: RevocationEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    const removed: RevocationEvent = { type: 'client', clientId: 'tv', at: Date.now() };
    const t0 = Date.now();
    // Written by "the CLI": stored, never published on this feed.
    await stores.revocations.add(removed, removed.at + 60_000);
    await vi.waitFor(() => expect(seen).toEqual([removed]), { timeout: 2000, interval: 5 });
    expect(Date.now() - t0).toBeLessThan(1000);
    // Later polls read it again (the overlap) and drop it.
    const before = reads;
    await vi.waitFor(() => expect(reads).toBeGreaterThan(before + 3), { timeout: 2000, interval: 5 });
    expect(seen).toEqual([removed]);
    await feed.close();
  });

  it('an event published here and read back from the log is delivered once; a different event still comes', async () => {
    const feed = polling();
    const seen: RevocationEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    const local: RevocationEvent = { type: 'session', sid: 's1', at: Date.now() };
    await stores.revocations.add(local, local.at + 60_000);
    await feed.publish(local);
    expect(seen).toEqual([local]);
    const other: RevocationEvent = { type: 'session', sid: 's1', at: local.at + 1 };
    await stores.revocations.add(other, other.at + 60_000);
    await vi.waitFor(() => expect(keyed(seen)).toEqual(keyed([local, other])), { timeout: 2000, interval: 5 });
    const before = reads;
    await vi.waitFor(() => expect(reads).toBeGreaterThan(before + 3), { timeout: 2000, interval: 5 });
    expect(seen).toHaveLength(2);
    await feed.close();
  });

  it('reads nothing without a subscriber (a CLI command, an auth service alone), and stops with the last one and at close', async () => {
    const feed = polling();
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    expect(reads).toBe(0);
    expect(feed.isPolling()).toBe(false);
    const offA = feed.subscribe(() => undefined);
    const offB = feed.subscribe(() => undefined);
    await vi.waitFor(() => expect(reads).toBeGreaterThan(1), { timeout: 2000, interval: 5 });
    offA();
    offA(); // twice: still one subscriber left
    expect(feed.isPolling()).toBe(true);
    offB();
    await vi.waitFor(() => expect(feed.isPolling()).toBe(false), { timeout: 2000, interval: 5 });
    const stopped = reads;
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    expect(reads).toBe(stopped);
    feed.subscribe(() => undefined);
    await vi.waitFor(() => expect(reads).toBeGreaterThan(stopped), { timeout: 2000, interval: 5 });
    await feed.close();
    expect(feed.isPolling()).toBe(false);
    const closed = reads;
    await new Promise((r) => setTimeout(r, INTERVAL * 5));
    expect(reads).toBe(closed);
  });

  it('a failed read is said once and retried: the event recorded meanwhile still comes', async () => {
    const warnings: string[] = [];
    const feed = polling({ warn: (_obj, msg) => warnings.push(msg ?? '') });
    const seen: RevocationEvent[] = [];
    failNext = true;
    feed.subscribe((e) => seen.push(e));
    const removed: RevocationEvent = { type: 'client', clientId: 'tv', at: Date.now() };
    await stores.revocations.add(removed, removed.at + 60_000);
    await vi.waitFor(() => expect(seen).toEqual([removed]), { timeout: 2000, interval: 5 });
    expect(warnings).toEqual([expect.stringContaining('reading the revocation log failed')]);
    await feed.close();
  });

  it('without polling options it delivers every publish, as before (no dedupe, no reads)', async () => {
    const feed = new InProcessRevocationFeed();
    const seen: RevocationEvent[] = [];
    feed.subscribe((e) => seen.push(e));
    await feed.publish(ev);
    await feed.publish(ev);
    expect(seen).toHaveLength(2);
    expect(feed.isPolling()).toBe(false);
    await feed.close();
  });
});
