import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Clock } from '../../util/clock.js';
import { FeedHandlers, type RevocationHandler } from '../revocations/feed-handlers.js';
import { revocationEventKey, SeenEvents } from '../revocations/seen-events.js';
import { isRevocationEvent, type RevocationEvent, type RevocationFeed, type RevocationStore } from '../types.js';


/** The part of a pino logger the feed uses (state changes and trouble only, never the URL). */
export interface FeedLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RedisRevocationFeedOptions {
  /** `redis://[:password@]host:port[/db]` or `rediss://…`; never logged. */
  url: string;
  /** The durable log (PostgreSQL in scale-out): the source of truth the polling fallback reads. */
  revocations: RevocationStore;
  clock: Clock;
  logger?: FeedLogger;
  /** Poll interval while Redis is away, and for `resumePollMs` after it is back; default 500 ms. */
  pollIntervalMs?: number;
  /** Pub/sub channel; default `gatehouse:revocations`. */
  channel?: string;
  /**
   * Each poll reads events from this long before the previous poll started, so an event stored
   * a little after it happened (the caller publishes, then stores) or stamped by an instance
   * whose clock lags is still seen; duplicates are dropped. Default 10 s.
   */
  overlapMs?: number;
  /** How long polling goes on after pub/sub resumes, to cover messages lost in the gap; default 3 s. */
  resumePollMs?: number;
  /**
   * A slow poll even while pub/sub works, for the case where only the publisher lost Redis (its
   * PUBLISH failed, everyone else is still subscribed); default 5 s. 0 disables it.
   */
  reconcileIntervalMs?: number;
  /** Bound of a connection attempt; default 2000 ms. */
  connectTimeoutMs?: number;
  /** Bound of every Redis command (PUBLISH, SUBSCRIBE); default 1000 ms. */
  commandTimeoutMs?: number;
  /** Interval and deadline of the subscriber's PING (a hung Redis); default 500 ms. */
  heartbeatMs?: number;
  /** Cap of the exponential reconnect backoff; default 1000 ms. */
  maxReconnectDelayMs?: number;
  /** Called when a handler throws (the other handlers still run). */
  onHandlerError?: (err: unknown, event: RevocationEvent) => void;
}

/** Wire format on the channel. `o` is the publishing instance (its own echo is skipped). */
interface Message {
  v: 1;
  o: string;
  e: RevocationEvent;
}

// Re-exported: tests and callers have always found it here.
export { revocationEventKey };

/** "Redis host:port/db" without credentials, for the start line and /readyz. */
export function describeRedis(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '');
    return `Redis ${u.hostname || 'localhost'}:${u.port || '6379'}${db ? `/${db}` : ''}`;
  } catch {
    return 'Redis';
  }
}

/** Bound of the events kept to send again when the publisher connection is back. */
const MAX_UNSENT = 10_000;
const WARN_EVERY_MS = 10_000;

/**
 * The revocation feed of scale-out (DESIGN §4): Redis pub/sub between instances, with
 * PostgreSQL (the RevocationStore) as the source of truth.
 *
 * Contract: `publish` only SPREADS an event; it does not store it. The caller records it
 * durably with `revocations.add(event, keepUntil)` (auth `publishRevocation` does, and knows
 * keepUntil), exactly as with the in-process feed, so there is one write per revocation.
 * `publish` runs this process's handlers synchronously first (the publisher sees its own
 * revocation at once), then sends the PUBLISH without waiting for it: it never throws or
 * waits because Redis is away or hangs. An event it could not send goes out again as soon as its
 * publisher connection is back (peers may be on pub/sub already, polling only slowly).
 *
 * While the subscriber connection is down, the feed polls `revocations.since()` every
 * `pollIntervalMs` (a revocation spreads within ~2 s), and goes on polling for `resumePollMs`
 * after pub/sub is back, to cover messages lost in the gap. Every event is handled once,
 * whichever way it arrives (deduplicated on its type, key and time). Reconnects use capped
 * exponential backoff; commands never queue while offline.
 */
export class RedisRevocationFeed implements RevocationFeed {
  private readonly handlers: FeedHandlers;
  private readonly seen: SeenEvents;
  private readonly origin = randomBytes(8).toString('hex');
  private readonly channel: string;
  private readonly pollIntervalMs: number;
  private readonly overlapMs: number;
  private readonly resumePollMs: number;
  private readonly reconcileIntervalMs: number;
  private readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly heartbeatMs: number;
  private readonly redisOptions: RedisOptions;

  private pub: Redis | undefined;
  private sub: Redis | undefined;
  private subscribed = false;
  /** Fast polling lasts until a poll that started at or after this time succeeded. */
  private pollUntil = 0;
  /** Start time (clock) of the last successful poll; polls read from `lastPollStart - overlap`. */
  private lastPollStart: number;
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private kickAfterPoll = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;
  private lastWarn = new Map<string, number>();
  private onSubscribed: (() => void) | undefined;
  private readonly inflight = new Set<Promise<void>>();
  /**
   * Events this instance could not PUBLISH (its publisher connection away or failing), with when
   * they were queued; sent again as soon as the publisher is ready. The subscriber and publisher
   * connections reconnect on their own backoffs, so a peer can be back on pub/sub (its catch-up
   * polling over) while this publisher is still reconnecting: without this, such an event would
   * wait for the peer's slow reconcile poll.
   */
  private unsent: { event: RevocationEvent; at: number }[] = [];

  constructor(private readonly options: RedisRevocationFeedOptions) {
    this.handlers = new FeedHandlers(options.onHandlerError);
    this.channel = options.channel ?? 'gatehouse:revocations';
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.overlapMs = options.overlapMs ?? 10_000;
    this.seen = new SeenEvents(() => options.clock.now(), this.overlapMs);
    this.resumePollMs = options.resumePollMs ?? 3000;
    this.reconcileIntervalMs = options.reconcileIntervalMs ?? 5000;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.heartbeatMs = Math.max(50, options.heartbeatMs ?? 500);
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.redisOptions = {
      connectTimeout: this.connectTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      // A dead Redis never blocks a caller: no queueing while offline, at most one retry.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResubscribe: false, // the feed subscribes on every 'ready' itself, and knows when it did
      retryStrategy: (times) => Math.min(maxDelay, 50 * 2 ** Math.min(times - 1, 10)) + Math.floor(Math.random() * 50),
      reconnectOnError: () => false,
      lazyConnect: true,
      keepAlive: 10_000,
    };
    this.lastPollStart = options.clock.now();
  }

  /** 'pubsub' when subscribed and the catch-up polling after an outage is over; else 'polling'. */
  status(): 'pubsub' | 'polling' {
    return this.subscribed && this.lastPollStart >= this.pollUntil ? 'pubsub' : 'polling';
  }

  /** "Redis host:port" without credentials. */
  describe(): string {
    return describeRedis(this.options.url);
  }

  /**
   * Connects and subscribes. Resolves once subscribed, or after the connect timeout in polling
   * mode (pub/sub takes over when Redis answers); never rejects because Redis is away.
   */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    this.lastPollStart = this.options.clock.now();
    const pub = new Redis(this.options.url, { ...this.redisOptions, connectionName: 'gatehouse-revocations-pub' });
    const sub = new Redis(this.options.url, { ...this.redisOptions, connectionName: 'gatehouse-revocations-sub' });
    this.pub = pub;
    this.sub = sub;
    pub.on('error', (err: Error) => this.warn('pub', { err: { message: err.message } }, 'revocation feed: Redis publisher error'));
    sub.on('error', (err: Error) => this.warn('sub', { err: { message: err.message } }, 'revocation feed: Redis subscriber error'));
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onMessage(message);
    });
    sub.on('ready', () => void this.subscribeChannel());
    pub.on('ready', () => this.sendUnsent());
    sub.on('close', () => this.markDown('connection closed'));
    const subscribedOrTimeout = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, this.connectTimeoutMs + 200);
      t.unref();
      this.onSubscribed = () => {
        clearTimeout(t);
        resolve();
      };
    });
    pub.connect().catch(() => undefined);
    sub.connect().catch(() => undefined);
    await subscribedOrTimeout;
    this.onSubscribed = undefined;
    if (this.closed) return;
    if (!this.subscribed) this.options.logger?.warn({ redis: this.describe() }, 'revocation feed: Redis not reachable; polling the revocation store');
    this.startHeartbeat();
    if (this.subscribed) {
      if (this.reconcileIntervalMs > 0) this.schedulePoll(this.reconcileIntervalMs);
    } else {
      this.schedulePoll(0);
    }
  }

  async publish(event: RevocationEvent): Promise<void> {
    if (this.closed) return;
    this.deliver(event);
    this.send(event);
  }

  /** PUBLISHes without waiting; an event that cannot go out now is kept for `sendUnsent`. */
  private send(event: RevocationEvent): void {
    const pub = this.pub;
    if (!pub || pub.status !== 'ready') {
      this.keepUnsent(event);
      this.warn('publish', {}, 'revocation feed: Redis away; the revocation spreads by polling');
      return;
    }
    // Not awaited: a Redis that hangs (commandTimeout) must not hold up the caller's sign-out.
    const message: Message = { v: 1, o: this.origin, e: event };
    const sent = pub.publish(this.channel, JSON.stringify(message)).then(
      () => undefined,
      (err: unknown) => {
        this.keepUnsent(event);
        this.warn('publish', { err: { message: (err as Error).message } }, 'revocation feed: PUBLISH failed; the revocation spreads by polling');
      },
    );
    this.inflight.add(sent);
    void sent.finally(() => this.inflight.delete(sent));
  }

  private keepUnsent(event: RevocationEvent): void {
    if (this.closed) return;
    this.unsent.push({ event, at: this.options.clock.now() });
    if (this.unsent.length > MAX_UNSENT) this.unsent.splice(0, this.unsent.length - MAX_UNSENT);
  }

  /**
   * The publisher is ready again: send what it could not. Only events younger than `overlapMs`:
   * peers remember what they handled for well past that (so a resend is never handled twice), and
   * anything older has reached them by polling long ago.
   */
  private sendUnsent(): void {
    if (this.closed || this.unsent.length === 0) return;
    const after = this.options.clock.now() - this.overlapMs;
    const events = this.unsent.filter((u) => u.at >= after).map((u) => u.event);
    this.unsent = [];
    for (const e of events) this.send(e);
  }

  subscribe(handler: RevocationHandler): () => void {
    return this.handlers.add(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.close();
    // Let PUBLISHes already sent finish (each is bounded by commandTimeout).
    await Promise.allSettled([...this.inflight]);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.subscribed = false;
    this.sub?.disconnect();
    this.pub?.disconnect();
  }

  private async subscribeChannel(): Promise<void> {
    const sub = this.sub;
    if (!sub || this.closed) return;
    try {
      await sub.subscribe(this.channel);
    } catch (err) {
      this.warn('sub', { err: { message: (err as Error).message } }, 'revocation feed: SUBSCRIBE failed');
      return;
    }
    if (this.closed || sub.status !== 'ready') return;
    this.subscribed = true;
    if (this.onSubscribed === undefined) {
      // Not the first subscription of start(): messages published while we were away are
      // lost, so poll on a little to pick them up from the store.
      this.pollUntil = this.options.clock.now() + this.resumePollMs;
      this.options.logger?.info({ redis: this.describe() }, 'revocation feed: Redis pub/sub resumed');
      this.kick();
    }
    this.onSubscribed?.();
  }

  private markDown(reason: string): void {
    if (this.closed || !this.subscribed) return;
    this.subscribed = false;
    this.options.logger?.warn({ redis: this.describe(), reason }, 'revocation feed: Redis away; polling the revocation store');
    this.kick();
  }

  /**
   * Detects a Redis that stops answering without closing the connection: a PING every
   * `heartbeatMs` that must answer within `heartbeatMs`, so a hung Redis is noticed within
   * about two heartbeats and polling takes over well inside the 2 s budget.
   */
  private startHeartbeat(): void {
    const every = this.heartbeatMs;
    let inFlight = false;
    this.heartbeat = setInterval(() => {
      const sub = this.sub;
      if (!sub || !this.subscribed || this.closed || inFlight) return;
      inFlight = true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('heartbeat timed out')), every);
      });
      Promise.race([sub.ping(), timeout])
        .catch(() => {
          if (this.closed || !this.subscribed || this.sub !== sub) return;
          this.markDown('heartbeat timed out');
          sub.disconnect(true);
        })
        .finally(() => {
          clearTimeout(timer);
          inFlight = false;
        });
    }, every);
    this.heartbeat.unref();
  }

  /** Polls now (a poll in flight is followed by another at once). */
  private kick(): void {
    if (!this.started || this.closed) return;
    if (this.polling) {
      this.kickAfterPoll = true;
      return;
    }
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.schedulePoll(0);
  }

  private schedulePoll(delayMs: number): void {
    if (this.closed || this.pollTimer) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, delayMs);
    this.pollTimer.unref();
  }

  private async poll(): Promise<void> {
    if (this.closed) return;
    this.polling = true;
    const started = this.options.clock.now();
    try {
      const events = await this.options.revocations.since(this.lastPollStart - this.overlapMs);
      for (const e of events) if (!this.closed) this.deliver(e);
      this.lastPollStart = Math.max(this.lastPollStart, started);
    } catch (err) {
      this.warn('poll', { err: { message: (err as Error).message } }, 'revocation feed: polling the revocation store failed');
    } finally {
      this.polling = false;
    }
    if (this.closed) return;
    const again = this.kickAfterPoll;
    this.kickAfterPoll = false;
    if (again) this.schedulePoll(0);
    else if (this.status() === 'polling') this.schedulePoll(this.pollIntervalMs);
    else if (this.reconcileIntervalMs > 0) this.schedulePoll(this.reconcileIntervalMs);
  }

  private onMessage(raw: string): void {
    let msg: Partial<Message>;
    try {
      msg = JSON.parse(raw) as Partial<Message>;
    } catch {
      return;
    }
    if (msg.v !== 1 || msg.o === this.origin || !isRevocationEvent(msg.e)) return;
    this.deliver(msg.e);
  }

  /** Runs every handler once per event, whichever way (local, pub/sub, polling) it arrives first. */
  private deliver(event: RevocationEvent): void {
    if (this.seen.first(event)) this.handlers.deliver(event);
  }

  private warn(kind: string, obj: object, msg: string): void {
    const now = Date.now();
    if (now - (this.lastWarn.get(kind) ?? -Infinity) < WARN_EVERY_MS) return;
    this.lastWarn.set(kind, now);
    this.options.logger?.warn({ redis: this.describe(), ...obj }, msg);
  }
}
