import type { Logger } from '../../util/logger.js';
import type { PartState, Probe } from './probe.js';

/** How often a summary line is logged while a part is down (ms). */
export const DEFAULT_SUMMARY_INTERVAL_MS = 60_000;

/** One part as /readyz shows it. */
export interface PartReport {
  state: 'up' | 'down';
  /** Human-readable name without credentials. */
  label: string;
  /** Since when (ISO 8601). */
  since: string;
  /** Why it is down: the driver's or system's code, and its message. */
  code?: string;
  reason?: string;
  /** PostgreSQL only: the circuit breaker in front of it. */
  breaker?: 'closed' | 'open' | 'half-open';
}

interface Entry {
  probe: Probe;
  /** Stopped by close() (the others belong to whoever shares them). */
  owned: boolean;
  /** Show the breaker state (PostgreSQL). */
  breaker: boolean;
  unsubscribe: () => void;
  /** Requests refused (503) while this part was down, since it went down / since the last summary. */
  refused: number;
  refusedSinceSummary: number;
}

/**
 * The parts a process's stores depend on (the database, its storage, Redis, the data
 * directory's disk), each a background Probe, and what the logs say of them: one line when a
 * part goes down (its code and reason, no stack), one when it is back (how long it was away
 * and how many requests were refused meanwhile), and while it is down a summary every
 * `summaryIntervalMs` — never a line per request. /readyz and /metrics read `parts()`, which
 * never touches a store.
 */
export class StoreHealth {
  private readonly entries = new Map<string, Entry>();
  private logger: Logger | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  private summaryIntervalMs = DEFAULT_SUMMARY_INTERVAL_MS;
  /** 503s for want of a store since start (all parts), for metrics. */
  refusedTotal = 0;
  /** After close(): every part reads down (the stores are closed). */
  private closed = false;

  /** Logs state changes to `logger` from now on; `summaryIntervalMs` (tests shorten it). */
  attachLogger(logger: Logger, summaryIntervalMs = DEFAULT_SUMMARY_INTERVAL_MS): void {
    this.logger = logger;
    this.summaryIntervalMs = summaryIntervalMs;
    // A part already down before the logger came (start with a store away) is said once now.
    for (const e of this.entries.values()) if (!e.probe.up) this.logDown(e);
    this.syncSummary();
  }

  /** Adds a part; `owned` parts are stopped by close(). A second part of the same name replaces nothing (ignored). */
  add(probe: Probe, options: { owned?: boolean; breaker?: boolean } = {}): void {
    if (this.entries.has(probe.name)) return;
    const entry: Entry = { probe, owned: options.owned ?? true, breaker: options.breaker ?? false, unsubscribe: () => undefined, refused: 0, refusedSinceSummary: 0 };
    entry.unsubscribe = probe.onChange((p, previous) => this.changed(entry, previous));
    this.entries.set(probe.name, entry);
  }

  get(name: string): Probe | undefined {
    return this.entries.get(name)?.probe;
  }

  /** Counts a request refused for want of a store (503 `unavailable`); no log line of its own. */
  countRefused(): void {
    this.refusedTotal++;
    for (const e of this.entries.values()) {
      if (!e.probe.up) {
        e.refused++;
        e.refusedSinceSummary++;
      }
    }
  }

  /** Every part's state, from memory. */
  parts(): Record<string, PartReport> {
    const out: Record<string, PartReport> = {};
    for (const [name, e] of this.entries) out[name] = this.closed ? { state: 'down', label: e.probe.label, since: new Date().toISOString(), code: 'CLOSED', reason: 'closed' } : report(e);
    return out;
  }

  /** Whether the part is up (false once closed; true for a part not listed). */
  isUp(name: string): boolean {
    if (this.closed) return false;
    return this.entries.get(name)?.probe.up ?? true;
  }

  close(): void {
    clearInterval(this.summaryTimer);
    this.summaryTimer = undefined;
    for (const e of this.entries.values()) {
      e.unsubscribe();
      if (e.owned) e.probe.stop();
    }
    this.closed = true;
  }

  private changed(e: Entry, previous: PartState): void {
    const now = e.probe.status();
    if (!now.up) {
      e.refused = 0;
      e.refusedSinceSummary = 0;
      this.logDown(e);
    } else if (this.logger !== undefined) {
      this.logger.info(
        { event: 'store.up', store: e.probe.name, label: e.probe.label, downForMs: now.since - previous.since, refused: e.refused },
        `${e.probe.label} is back after ${formatMs(now.since - previous.since)}`,
      );
    }
    this.syncSummary();
  }

  private logDown(e: Entry): void {
    const st = e.probe.status();
    this.logger?.warn(
      { event: 'store.down', store: e.probe.name, label: e.probe.label, code: st.error?.code, reason: st.error?.message, ...(e.breaker ? { breaker: 'open' } : {}) },
      e.breaker ? `${e.probe.label} is down; circuit breaker open: requests that need it get 503 at once until a background check succeeds` : `${e.probe.label} is down`,
    );
  }

  /** The summary timer runs only while a part is down and a logger is attached. */
  private syncSummary(): void {
    const anyDown = [...this.entries.values()].some((e) => !e.probe.up);
    if (anyDown && this.logger !== undefined && this.summaryTimer === undefined) {
      this.summaryTimer = setInterval(() => this.summary(), this.summaryIntervalMs);
      this.summaryTimer.unref();
    } else if (!anyDown && this.summaryTimer !== undefined) {
      clearInterval(this.summaryTimer);
      this.summaryTimer = undefined;
    }
  }

  private summary(): void {
    const now = Date.now();
    for (const e of this.entries.values()) {
      const st = e.probe.status();
      if (st.up) continue;
      this.logger?.warn(
        { event: 'store.still_down', store: e.probe.name, label: e.probe.label, downForMs: now - st.since, code: st.error?.code, reason: st.error?.message, refused: e.refusedSinceSummary },
        `${e.probe.label} still down after ${formatMs(now - st.since)}; ${e.refusedSinceSummary} requests refused since the last summary`,
      );
      e.refusedSinceSummary = 0;
    }
  }
}

function report(e: Entry): PartReport {
  const st = e.probe.status();
  const r: PartReport = { state: st.up ? 'up' : 'down', label: e.probe.label, since: new Date(st.since).toISOString() };
  if (!st.up && st.error !== undefined) {
    if (st.error.code !== undefined) r.code = st.error.code;
    r.reason = st.error.message;
  }
  if (e.breaker) r.breaker = e.probe.breakerState();
  return r;
}

function formatMs(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
