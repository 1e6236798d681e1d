import { Counter, Histogram, Registry } from 'prom-client';

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
