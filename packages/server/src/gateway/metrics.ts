import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { FeedMode } from '../context.js';
import type { StoreHealth } from '../stores/health/store-health.js';
import type { HotCache } from '../stores/types.js';
import type { DegradedReason } from './pipeline/authenticate/types.js';

const LOOP_DELAY_RESOLUTION_MS = 10;
const STATUS_CLASS = ['1xx', '2xx', '3xx', '4xx', '5xx'];
const UPSTREAM_OUTCOMES = [...STATUS_CLASS.map((c) => `upstream_${c}`), 'upstream_other'];

/** Index of `upstream_2xx` etc. (answers relayed from an upstream) in UPSTREAM_OUTCOMES. */
function statusIndex(status: number): number {
  const i = Math.floor(status / 100) - 1;
  return i >= 0 && i < STATUS_CLASS.length ? i : STATUS_CLASS.length;
}

/**
 * Per-route request counts, kept as plain numbers on the hot path and handed to the Prometheus
 * counter at scrape time (prom-client's labelled `inc` builds and hashes a label key on every
 * call). A request costs an array or Map increment, no allocation.
 */
export class RouteMetrics {
  /** Not yet exported, by upstream status class (UPSTREAM_OUTCOMES order). */
  private readonly upstream = new Float64Array(UPSTREAM_OUTCOMES.length);
  /** Not yet exported, by gateway outcome (error codes, redirects…). */
  private readonly outcomes = new Map<string, number>();
  constructor(
    readonly route: string,
    readonly latency: LatencyChild | undefined,
  ) {}
  count(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }
  /** An answer relayed from the upstream, counted by status class. */
  countUpstream(status: number): void {
    const i = statusIndex(status);
    this.upstream[i] = this.upstream[i]! + 1;
  }
  /** Hands the counts since the last call to `inc(outcome, n)` and clears them. */
  flush(inc: (outcome: string, n: number) => void): void {
    for (let i = 0; i < this.upstream.length; i++) {
      if (this.upstream[i]! > 0) {
        inc(UPSTREAM_OUTCOMES[i]!, this.upstream[i]!);
        this.upstream[i] = 0;
      }
    }
    for (const [outcome, n] of this.outcomes) inc(outcome, n);
    this.outcomes.clear();
  }
}

/** One route's upstream latency buckets; observe() is a bucket scan and three additions. */
export class LatencyChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly route: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/**
 * `gatehouse_gateway_upstream_duration_seconds`, a Prometheus histogram by route registered on
 * the gateway's prom-client registry as a custom metric: same exposition as a prom-client
 * Histogram, without its per-observation label hashing.
 */
class LatencyHistogram {
  readonly name = 'gatehouse_gateway_upstream_duration_seconds';
  readonly help = 'Time from forwarding a request to the upstream response headers, by route.';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['route'];
  private readonly children: LatencyChild[] = [];
  constructor(private readonly bounds: readonly number[]) {}

  child(route: string): LatencyChild {
    const c = new LatencyChild(route, this.bounds);
    this.children.push(c);
    return c;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> } {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const c of this.children) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le: this.bounds[i]!, route: c.route }, value: acc });
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', route: c.route }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: { route: c.route }, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: { route: c.route }, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const c of this.children) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

/**
 * The gateway's Prometheus metrics, on a registry of its own (several gateways can live in one
 * process, as in tests): requests by route and outcome (`upstream_2xx`…, or the error code the
 * gateway answered with), and upstream latency by route.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'outcome'>;
  readonly upstreamLatency: LatencyHistogram;
  private readonly routes: RouteMetrics[] = [];
  private readonly loopDelay: IntervalHistogram;
  readonly degraded: Counter<'reason'>;
  readonly droppedResponseHeaders: Counter<'route' | 'kind'>;
  /** Grants of the grant CPU-share budget (grant-budget.ts), by outcome: queued or refused. */
  readonly grantBudget: Counter<'outcome'>;
  private readonly degradedChildren = new Map<DegradedReason, ReturnType<Counter<'reason'>['labels']>>();

  constructor() {
    const routes = this.routes;
    this.requests = new Counter({
      name: 'gatehouse_gateway_requests_total',
      help: 'Requests the gateway answered, by route and outcome (upstream status class, or the gateway error code).',
      labelNames: ['route', 'outcome'],
      registers: [this.registry],
      // The hot path counts in plain numbers (RouteMetrics); they are added here, at scrape time.
      collect() {
        for (const r of routes) r.flush((outcome, n) => this.labels(r.route, outcome).inc(n));
      },
    });
    this.upstreamLatency = new LatencyHistogram([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
    this.registry.registerMetric(this.upstreamLatency as unknown as Parameters<Registry['registerMetric']>[0]);
    // Event-loop delay since the previous scrape (the gateway's one thread: hashing, JSON, logging
    // that blocked it shows here), as quantiles in seconds; the 10 ms sampling interval is
    // subtracted, so an idle loop reads about 0.
    const loopDelay = (this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS }));
    loopDelay.enable();
    new Gauge({
      name: 'gatehouse_event_loop_delay_seconds',
      help: 'Event-loop delay of this process since the previous scrape, by quantile (0.5, 0.9, 0.99, 1 = max).',
      labelNames: ['quantile'],
      registers: [this.registry],
      // --workers N (cluster aggregation): the slowest process, not the sum.
      aggregator: 'max',
      collect() {
        const delay = (ns: number) => Math.max(0, ns / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1000);
        const empty = loopDelay.count === 0;
        for (const q of [50, 90, 99]) this.labels(String(q / 100)).set(empty ? 0 : delay(loopDelay.percentile(q)));
        this.labels('1').set(empty ? 0 : delay(loopDelay.max));
        loopDelay.reset();
      },
    });
    this.degraded = new Counter({
      name: 'gatehouse_degraded_decisions_total',
      help: 'Decisions taken while a part was away (DESIGN §4), by reason: served from memory or the hot copy while the store is away, or refused 503 for want of it.',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.droppedResponseHeaders = new Counter({
      name: 'gatehouse_gateway_upstream_headers_dropped_total',
      help: 'Headers dropped from upstream answers (DESIGN §6), by route and kind: set_cookie (a Set-Cookie naming a Gatehouse cookie, from a service other than auth) or identity_header (x-passport, gateway.stripHeaders).',
      labelNames: ['route', 'kind'],
      registers: [this.registry],
    });
    this.grantBudget = new Counter({
      name: 'gatehouse_gateway_grants_held_total',
      help: 'Token grants (POST /auth/token) held to gateway.grantShare of the event loop while other requests were served (`gatehouse start`), by outcome: queued (waited for a later window) or refused (503: queue full or waited too long).',
      labelNames: ['outcome'],
      registers: [this.registry],
    });
  }

  /** For the grant budget: counted when a grant waits or is refused (rare next to requests). */
  readonly grantObserver = {
    grantQueued: (): void => this.grantBudget.labels('queued').inc(),
    grantRefused: (): void => this.grantBudget.labels('refused').inc(),
  };

  /** Counts a header dropped from an upstream answer (rare: a labelled inc is fine here). */
  countDroppedResponseHeader(route: string, kind: 'set_cookie' | 'identity_header'): void {
    this.droppedResponseHeaders.labels(route, kind).inc();
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
      // --workers N (cluster aggregation): 1 where any process is in that mode, not the sum.
      aggregator: 'max',
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
      // --workers N (cluster aggregation): 0 as soon as one process finds it away, not the sum.
      aggregator: 'min',
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

  /**
   * Exports the background health states (`stores.health`): `gatehouse_store_up{part}`,
   * `gatehouse_circuit_breaker_state{part,state}` (1 for the current state of the PostgreSQL
   * breaker) and `gatehouse_store_refused_total` (requests answered 503 for want of a store).
   */
  watchHealth(health: StoreHealth): void {
    new Gauge({
      name: 'gatehouse_store_up',
      help: 'Whether each part the stores depend on answers (database, storage, redis, disk), from background checks: 1 up, 0 down.',
      labelNames: ['part'],
      registers: [this.registry],
      // --workers N (cluster aggregation): 0 as soon as one process finds it down, not the sum.
      aggregator: 'min',
      collect() {
        for (const [part, r] of Object.entries(health.parts())) this.labels(part).set(r.state === 'up' ? 1 : 0);
      },
    });
    const states = ['closed', 'open', 'half-open'] as const;
    new Gauge({
      name: 'gatehouse_circuit_breaker_state',
      help: 'The circuit breaker in front of PostgreSQL: 1 for its current state (closed, open: calls refused at once, half-open: a background check runs), 0 for the others.',
      labelNames: ['part', 'state'],
      registers: [this.registry],
      // --workers N (cluster aggregation): 1 for each state some process's breaker is in, not the sum.
      aggregator: 'max',
      collect() {
        for (const [part, r] of Object.entries(health.parts())) {
          if (r.breaker === undefined) continue;
          for (const s of states) this.labels(part, s).set(r.breaker === s ? 1 : 0);
        }
      },
    });
    let seen = 0;
    new Counter({
      name: 'gatehouse_store_refused_total',
      help: 'Requests answered 503 unavailable because a store they needed was down (breaker open, refused, timed out, disk full).',
      registers: [this.registry],
      collect() {
        this.inc(health.refusedTotal - seen);
        seen = health.refusedTotal;
      },
    });
  }

  forRoute(route: string, upstream: boolean): RouteMetrics {
    const m = new RouteMetrics(route, upstream ? this.upstreamLatency.child(route) : undefined);
    this.routes.push(m);
    return m;
  }

  /** Stops the event-loop delay sampling. */
  close(): void {
    this.loopDelay.disable();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
