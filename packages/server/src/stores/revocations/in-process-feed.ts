import type { Clock } from '../../util/clock.js';
import type { RevocationEvent, RevocationFeed, RevocationStore } from '../types.js';
import { FeedHandlers, type RevocationHandler } from './feed-handlers.js';
import { SeenEvents } from './seen-events.js';

/** The part of a pino logger the polling uses (trouble only). */
export interface PollLogger {
  warn(obj: object, msg?: string): void;
}

/** Reading the durable revocation log, for what other processes record (`gatehouse clients remove`). */
export interface RevocationLogPolling {
  revocations: RevocationStore;
  clock: Clock;
  /** How often the log is read while someone subscribes (ms, > 0). */
  intervalMs: number;
  /**
   * Each poll reads from this long before the previous poll started, so an event stored a
   * little after its `at` (the CLI stamps, then writes) is still seen; repeats are dropped.
   * Default 10 s.
   */
  overlapMs?: number;
  logger?: PollLogger;
}

const WARN_EVERY_MS = 10_000;

/**
 * The revocation feed of a single node (no Redis). Handlers run synchronously inside
 * `publish`, so once it resolves every subscriber of this process has seen the event. A throwing
 * handler does not stop the others; its error goes to `onHandlerError` when given.
 *
 * With `poll`, it also reads the durable revocation log (`RevocationStore.since`: one indexed
 * SELECT) every `intervalMs` while it has a subscriber (a gateway; a CLI command or an auth
 * service alone subscribes nothing and never polls), and delivers what another process recorded
 * there: `gatehouse clients remove`, or any revocation written by a process this one cannot
 * hear. Every event is delivered once, however it arrives (published here, read back from the
 * log), like the Redis feed (`revocationEventKey`). Nothing is read per request.
 */
export class InProcessRevocationFeed implements RevocationFeed {
  private readonly handlers: FeedHandlers;
  private readonly poll: RevocationLogPolling | undefined;
  private readonly overlapMs: number;
  private readonly seen: SeenEvents | undefined;
  private subscribers = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Start time (clock) of the last successful poll; polls read from `lastPollStart - overlap`. */
  private lastPollStart = 0;
  private polling: Promise<void> | undefined;
  private lastWarn = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(options: { onHandlerError?: (err: unknown, event: RevocationEvent) => void; poll?: RevocationLogPolling } = {}) {
    this.handlers = new FeedHandlers(options.onHandlerError);
    this.poll = options.poll;
    this.overlapMs = options.poll?.overlapMs ?? 10_000;
    if (this.poll !== undefined) {
      const clock = this.poll.clock;
      this.seen = new SeenEvents(() => clock.now(), this.overlapMs);
    }
  }

  async publish(event: RevocationEvent): Promise<void> {
    if (this.closed) return;
    this.deliver(event);
  }

  subscribe(handler: RevocationHandler): () => void {
    const off = this.handlers.add(handler);
    if (this.closed) return off;
    this.subscribers++;
    if (this.subscribers === 1) this.startPolling();
    let subscribed = true;
    return () => {
      off();
      if (!subscribed) return;
      subscribed = false;
      this.subscribers--;
      if (this.subscribers === 0) this.stopPolling();
    };
  }

  /** Whether the log is being read now (a subscriber, polling configured, not closed). */
  isPolling(): boolean {
    return this.timer !== undefined || this.polling !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    this.handlers.close();
    await this.polling;
  }

  private deliver(event: RevocationEvent): void {
    if (this.seen !== undefined && !this.seen.first(event)) return;
    this.handlers.deliver(event);
  }

  private startPolling(): void {
    // A poll in flight schedules the next one itself.
    if (this.poll === undefined || this.timer !== undefined || this.polling !== undefined) return;
    // Whatever happened before the subscriber came is its own warm-up's business (RevocationSet).
    this.lastPollStart = this.poll.clock.now();
    this.schedule();
  }

  private stopPolling(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const poll = this.poll;
    if (poll === undefined || this.closed || this.subscribers === 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.readLog(poll).finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, poll.intervalMs);
    this.timer.unref();
  }

  private async readLog(poll: RevocationLogPolling): Promise<void> {
    const started = poll.clock.now();
    try {
      const events = await poll.revocations.since(this.lastPollStart - this.overlapMs);
      for (const e of events) if (!this.closed) this.deliver(e);
      this.lastPollStart = Math.max(this.lastPollStart, started);
    } catch (err) {
      // The store's outage is logged by stores.health; one line here now and then says what waits.
      if (started - this.lastWarn >= WARN_EVERY_MS) {
        this.lastWarn = started;
        poll.logger?.warn({ err: { message: (err as Error).message } }, 'revocation feed: reading the revocation log failed; revocations recorded by other processes wait until it works');
      }
    }
  }
}
