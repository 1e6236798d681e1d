import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { MetricsHub } from '../context.js';
import type { FeedRelay } from '../stores/revocations/cluster-feed.js';
import type { RevocationEvent } from '../stores/types.js';

/**
 * What the primary and the workers of `--workers N` (start/cluster.ts) say to each other over
 * node:cluster's IPC channel. Every type starts with `gatehouse:`; other messages (prom-client's,
 * Node's own) are ignored.
 */
export type ClusterMessage =
  /** A worker's channel is listening (the primary relays to it from now on). */
  | { type: 'gatehouse:hello' }
  /** A worker serves (its `stores:` line and internal URLs, for the start lines). */
  | { type: 'gatehouse:ready'; storesLine: string; internal: Record<string, string> }
  /** A worker could not start (the primary says why, once). */
  | { type: 'gatehouse:failed'; message: string }
  /** Primary → worker: drain and exit. */
  | { type: 'gatehouse:stop' }
  /** Either way: deliver this revocation, then answer `revocation-done` with the same id. */
  | { type: 'gatehouse:revocation'; id: number; event: RevocationEvent }
  | { type: 'gatehouse:revocation-done'; id: number }
  /** Primary → worker: your registries as JSON (`metrics-json`). */
  | { type: 'gatehouse:metrics-request'; id: number }
  | { type: 'gatehouse:metrics-json'; id: number; metrics: unknown[] }
  /** Worker → primary: the cluster's exposition (`metrics-text`). */
  | { type: 'gatehouse:metrics-ask'; id: number }
  | { type: 'gatehouse:metrics-text'; id: number; text?: string; error?: string };

type Reply = Extract<ClusterMessage, { type: 'gatehouse:revocation-done' | 'gatehouse:metrics-json' | 'gatehouse:metrics-text' }>;

/** How long a revocation waits for a sibling's delivery before the publish goes on (a hung worker never holds a sign-out back). */
export const RELAY_BOUND_MS = 1_000;
/** How long /metrics waits for the other processes. */
export const METRICS_BOUND_MS = 5_000;

function isClusterMessage(m: unknown): m is ClusterMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('gatehouse:');
}

/** Requests by id, each answered once: by its reply, by `fail`, or by its timeout (rejects). */
class Pending<K> {
  private next = 0;
  private readonly waiting = new Map<number, { key: K; done: (m: Reply | undefined) => void; timer: NodeJS.Timeout }>();

  /** Sends with a fresh id and resolves with the reply; rejects after `ms`. */
  ask(key: K, ms: number, send: (id: number) => void): Promise<Reply | undefined> {
    const id = this.next++;
    return new Promise<Reply | undefined>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer within ${ms} ms`));
      }, ms);
      timer.unref();
      this.waiting.set(id, { key, done: resolve, timer });
      try {
        send(id);
      } catch (err) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(err as Error);
      }
    });
  }

  answer(reply: Reply): void {
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.waiting.delete(reply.id);
    clearTimeout(w.timer);
    w.done(reply);
  }

  /** Answers (with undefined) every request to `key`: a worker that exited answers nothing more. */
  drop(key?: K): void {
    for (const [id, w] of this.waiting) {
      if (key !== undefined && w.key !== key) continue;
      this.waiting.delete(id);
      clearTimeout(w.timer);
      w.done(undefined);
    }
  }
}

/** Everything this process's registries hold, as JSON (one array per registry). */
function registriesJson(registries: Iterable<Registry>): Promise<unknown[]> {
  return Promise.all([...registries].map((r) => r.getMetricsAsJSON()));
}

/**
 * A worker's end of the channel: its revocation feed's relay (through the primary to every
 * sibling) and its /metrics (the primary aggregates every process's registries).
 */
export class WorkerLink implements FeedRelay, MetricsHub {
  private readonly pending = new Pending<'primary'>();
  private readonly registries = new Set<Registry>();
  private onRevocation: (event: RevocationEvent) => void = () => undefined;
  private onStop: () => void = () => undefined;

  constructor(private readonly proc: NodeJS.Process = process) {
    proc.on('message', this.onMessage);
    this.post({ type: 'gatehouse:hello' });
  }

  /** Sends to the primary; nothing when the channel is gone (the primary exited: Node ends this worker). */
  post(message: ClusterMessage): void {
    if (this.proc.connected) this.proc.send!(message);
  }

  async send(event: RevocationEvent): Promise<void> {
    await this.pending.ask('primary', RELAY_BOUND_MS * 2, (id) => this.post({ type: 'gatehouse:revocation', id, event })).catch(() => undefined);
  }

  receive(handler: (event: RevocationEvent) => void): void {
    this.onRevocation = handler;
  }

  add(registry: Registry): void {
    this.registries.add(registry);
  }

  async text(): Promise<string> {
    const reply = await this.pending.ask('primary', METRICS_BOUND_MS * 2, (id) => this.post({ type: 'gatehouse:metrics-ask', id }));
    if (reply?.type !== 'gatehouse:metrics-text' || reply.text === undefined) throw new Error(`the primary could not gather the metrics${reply?.type === 'gatehouse:metrics-text' ? `: ${reply.error}` : ''}`);
    return reply.text;
  }

  /** What runs when the primary says stop. */
  stopped(handler: () => void): void {
    this.onStop = handler;
  }

  close(): void {
    this.proc.off('message', this.onMessage);
    this.pending.drop();
  }

  private readonly onMessage = (m: unknown): void => {
    if (!isClusterMessage(m)) return;
    switch (m.type) {
      case 'gatehouse:revocation':
        // Delivered synchronously (the in-process feed), then answered.
        this.onRevocation(m.event);
        this.post({ type: 'gatehouse:revocation-done', id: m.id });
        return;
      case 'gatehouse:metrics-request':
        registriesJson(this.registries).then(
          (metrics) => this.post({ type: 'gatehouse:metrics-json', id: m.id, metrics }),
          () => this.post({ type: 'gatehouse:metrics-json', id: m.id, metrics: [] }),
        );
        return;
      case 'gatehouse:stop':
        this.onStop();
        return;
      case 'gatehouse:revocation-done':
      case 'gatehouse:metrics-text':
        this.pending.answer(m);
        return;
      default:
        return;
    }
  }
}

/**
 * The primary's end: relays each revocation to every worker (but its sender) and waits for their
 * delivery, and answers /metrics for the cluster: prom-client's cluster aggregator over every
 * worker's registries and the primary's own (the auth service's in `gatehouse start`).
 */
export class PrimaryLink implements FeedRelay, MetricsHub {
  private readonly pending = new Pending<Worker>();
  private readonly registries = new Set<Registry>();
  /** Workers whose channel listens (said hello). */
  private readonly linked = new Set<Worker>();
  private onRevocation: (event: RevocationEvent) => void = () => undefined;
  /** Other messages (ready, failed), for the supervisor. */
  onOther: (worker: Worker, m: ClusterMessage) => void = () => undefined;

  constructor() {
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
  }

  send(event: RevocationEvent): Promise<void> {
    return this.relay(event, undefined);
  }

  receive(handler: (event: RevocationEvent) => void): void {
    this.onRevocation = handler;
  }

  add(registry: Registry): void {
    this.registries.add(registry);
  }

  async text(): Promise<string> {
    const workers = await Promise.all(
      this.connected().map((w) =>
        this.pending.ask(w, METRICS_BOUND_MS, (id) => w.send({ type: 'gatehouse:metrics-request', id } satisfies ClusterMessage)).then(
          (r) => (r?.type === 'gatehouse:metrics-json' ? r.metrics : []),
          () => [],
        ),
      ),
    );
    const own = await registriesJson(this.registries);
    const all = [...own, ...workers.flat()] as Parameters<typeof AggregatorRegistry.aggregate>[0];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  close(): void {
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    this.pending.drop();
  }

  private connected(except?: Worker): Worker[] {
    return [...this.linked].filter((w) => w !== except && w.isConnected());
  }

  private async relay(event: RevocationEvent, except: Worker | undefined): Promise<void> {
    await Promise.all(
      this.connected(except).map((w) =>
        this.pending.ask(w, RELAY_BOUND_MS, (id) => w.send({ type: 'gatehouse:revocation', id, event } satisfies ClusterMessage)).catch(() => undefined),
      ),
    );
  }

  private readonly onMessage = (worker: Worker, m: unknown): void => {
    if (!isClusterMessage(m)) return;
    switch (m.type) {
      case 'gatehouse:hello':
        this.linked.add(worker);
        return;
      case 'gatehouse:revocation':
        // A worker published: here first, then every other worker, then its answer.
        this.onRevocation(m.event);
        void this.relay(m.event, worker).then(() => {
          if (worker.isConnected()) worker.send({ type: 'gatehouse:revocation-done', id: m.id } satisfies ClusterMessage);
        });
        return;
      case 'gatehouse:metrics-ask':
        this.text().then(
          (text) => worker.isConnected() && worker.send({ type: 'gatehouse:metrics-text', id: m.id, text } satisfies ClusterMessage),
          (err: unknown) => worker.isConnected() && worker.send({ type: 'gatehouse:metrics-text', id: m.id, error: (err as Error).message } satisfies ClusterMessage),
        );
        return;
      case 'gatehouse:revocation-done':
      case 'gatehouse:metrics-json':
        this.pending.answer(m);
        return;
      default:
        this.onOther(worker, m);
    }
  };

  private readonly onExit = (worker: Worker): void => {
    this.linked.delete(worker);
    this.pending.drop(worker);
  };
}
