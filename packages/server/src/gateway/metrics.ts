import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FeedMode } from '../context.js';
import type { HotCache } from '../stores/redis/redis-hot-cache.js';
import type { DegradedReason } from './pipeline/authenticate/types.js';

type CounterChild = ReturnType<Counter<'route' | 'outcome'>['labels']>;
type HistogramChild = ReturnType<Histogram<'route'>['labels']>;

/** Per-route metric children, resolved once so a request costs a Map lookup and an increment. */
export class RouteMetrics {
  private readonly outcomes = new Map<string, CounterChild>();
  constructor(
    private readonly metrics: GatewayMetrics,
    readonly route: string,
    readonly latency: HistogramChild | undefined,
  ) {}
  count(outcome: string): void {
    let c = this.outcomes.get(outcome);
    if (c === undefined) {
      c = this.metrics.requests.labels(this.route, outcome);
      this.outcomes.set(outcome, c);
    }
    c.inc();
  }
}

const STATUS_CLASS = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** `upstream_2xx` etc. for answers relayed from an upstream. */
export function upstreamOutcome(status: number): string {
  return `upstream_${STATUS_CLASS[Math.floor(status / 100) - 1] ?? 'other'}`;
}

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways can live in one
 * process, as in tests): requests by route and outcome (`upstream_2xx`…, or the error code the
 * gateway answered with), and upstream latency by route.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'outcome'>;
  readonly upstreamLatency: Histogram<'route'>;
  readonly degraded: Counter<'reason'>;
  private readonly degradedChildren = new Map<DegradedReason, ReturnType<Counter<'reason'>['labels']>>();

  constructor() {
    this.requests = new Counter({
      name: 'gatehouse_gateway_requests_total',
      help: 'Requests the gateway answered, by route and outcome (upstream status class, or the gateway error code).',
      labelNames: ['route', 'outcome'],
      registers: [this.registry],
    });
    this.upstreamLatency = new Histogram({
      name: 'gatehouse_gateway_upstream_duration_seconds',
      help: 'Time from forwarding a request to the upstream response headers, by route.',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.degraded = new Counter({
      name: 'gatehouse_degraded_decisions_total',
      help: 'Decisions taken while a part was away (DESIGN §4), by reason: served from memory or the hot copy while the store is away, or refused 503 for want of it.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
  }

  /** Counts a decision taken in a degraded mode (DESIGN §4). */
  readonly countDegraded = (reason: DegradedReason): void => {
    let c = this.degradedChildren.get(reason);
    if (c === undefined) {
      c = this.degraded.labels(reason);
      this.degradedChildren.set(reason, c);
    }
    c.inc();
  };

  /**
   * Exports the feed mode (`gatehouse_revocation_feed_mode{mode}`: 1 for the current mode, 0
   * for the others) and the hot copy's state and counters, read at scrape time.
   */
  watchState(state: { feedMode: () => FeedMode; hotCache: HotCache | undefined }): void {
    const modes: FeedMode[] = ['pubsub', 'polling', 'in-process'];
    new Gauge({
      name: 'gatehouse_revocation_feed_mode',
      help: 'How revocations reach this gateway: 1 for the current mode (pubsub, polling while Redis is away, in-process), 0 for the others.',
      labelNames: ['mode'],
      registers: [this.registry],
      collect() {
        const now = state.feedMode();
        for (const m of modes) this.labels(m).set(m === now ? 1 : 0);
      },
    });
    const hot = state.hotCache;
    if (hot === undefined || hot.kind === 'none') return;
    new Gauge({
      name: 'gatehouse_hot_cache_up',
      help: 'Whether the shared hot copy (Redis) answers: 1 yes, 0 away (sessions are read from the database meanwhile).',
      registers: [this.registry],
      collect() {
        this.set(hot.status() === 'redis' ? 1 : 0);
      },
    });
    let seen = { hits: 0, misses: 0, errors: 0 };
    new Counter({
      name: 'gatehouse_hot_cache_operations_total',
      help: 'Operations on the shared hot copy, by result: hit, miss, error (failed, timed out or skipped while Redis is away; the database answered instead).',
      labelNames: ['result'],
      registers: [this.registry],
      collect() {
        const st = hot.stats();
        this.labels('hit').inc(st.hits - seen.hits);
        this.labels('miss').inc(st.misses - seen.misses);
        this.labels('error').inc(st.errors - seen.errors);
        seen = st;
      },
    });
  }

  forRoute(route: string, upstream: boolean): RouteMetrics {
    return new RouteMetrics(this, route, upstream ? this.upstreamLatency.labels(route) : undefined);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
