/** What a part's last failure was, as logs and /readyz show it: never a stack, never a secret. */
export interface PartError {
  /** The driver's or system's code (ECONNREFUSED, 57P01, SQLITE_FULL, ECIRCUITOPEN, …) when it has one. */
  code?: string;
  message: string;
}

/** A part's state as /readyz and the logs see it. */
export interface PartState {
  up: boolean;
  /** When it entered this state (epoch ms, wall clock). */
  since: number;
  /** The failure that took it down (absent while up). */
  error?: PartError;
  /** Whether a background check is running right now (the breaker's half-open probe). */
  probing: boolean;
}

export interface ProbeOptions {
  /** Runs one cheap check; rejects when the part cannot answer. Absent: the part is told only (`fail`/`ok`). */
  check?: () => Promise<void>;
  /** Between checks while up (ms); default 1000. */
  intervalMs?: number;
  /** Between checks while down (ms): the bounded interval of the breaker's half-open probe; default 1000. */
  downIntervalMs?: number;
  /** A check that has not answered by then counts as failed (ms); default 1000. */
  timeoutMs?: number;
}

/** A check that did not answer within its bound. */
export class ProbeTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/** The code and message of anything thrown, for PartError (follows `cause` and AggregateError once). */
export function partError(err: unknown): PartError {
  if (err instanceof AggregateError && err.errors.length > 0 && !(err as { code?: unknown }).code) return partError(err.errors[0]);
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; cause?: unknown };
    const code = typeof e.code === 'string' && e.code !== '' ? e.code : undefined;
    const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
    // A wrapper (StoreUnavailableError) names the cause's code, which says more.
    if ((code === undefined || code === 'unavailable') && e.cause !== undefined && e.cause !== err) {
      const inner = partError(e.cause);
      if (inner.code !== undefined) return { code: inner.code, message: inner.message };
    }
    return code === undefined ? { message } : { code, message };
  }
  return { message: String(err) };
}

/**
 * The state of one part (a database, Redis, the disk), kept up to date in the background so
 * /readyz answers from memory and never waits for a store. A check runs every `intervalMs`
 * while the part is up and every `downIntervalMs` while it is down (never two at once, each
 * bounded by `timeoutMs`); real calls report too (`fail` at once on an outage error, `ok` on
 * success), so a part goes down on the first failed request, not only at the next check.
 *
 * The PostgreSQL circuit breaker is this state seen from the request path (`breakerState`):
 * closed while up; open while down (calls refused at once); half-open while the background
 * check runs; closed again when it succeeds.
 */
export class Probe {
  private state: PartState;
  private timer: NodeJS.Timeout | undefined;
  /** The check started last, until it settles (it may outlive its timeout). */
  private outstanding: Promise<void> | undefined;
  private stopped = false;
  private readonly listeners = new Set<(probe: Probe, previous: PartState) => void>();
  private readonly intervalMs: number;
  private readonly downIntervalMs: number;
  private readonly timeoutMs: number;

  constructor(
    /** Key in /readyz and metrics: `database`, `redis`, `storage`, `disk`. */
    readonly name: string,
    /** Human-readable, without credentials: "PostgreSQL 10.0.0.5:5432/app", "Redis 127.0.0.1:6379". */
    readonly label: string,
    private readonly options: ProbeOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.downIntervalMs = options.downIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.state = { up: true, since: Date.now(), probing: false };
    if (options.check !== undefined) this.schedule(this.intervalMs);
  }

  /** True while the part answers. One field read: safe for every request. */
  get up(): boolean {
    return this.state.up;
  }

  status(): Readonly<PartState> {
    return this.state;
  }

  /** closed: calls go through; open: refused at once; half-open: refused while the background check runs. */
  breakerState(): 'closed' | 'open' | 'half-open' {
    return this.state.up ? 'closed' : this.state.probing ? 'half-open' : 'open';
  }

  /** Told of every change between up and down (not of a new error while down). */
  onChange(listener: (probe: Probe, previous: PartState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A real call failed for a reason that means the part is away: down now, checked again soon. */
  fail(err: unknown): void {
    if (this.stopped) return;
    if (!this.state.up) return;
    this.set({ up: false, since: Date.now(), error: partError(err), probing: this.state.probing });
    if (this.options.check !== undefined && !this.state.probing) this.schedule(this.downIntervalMs);
  }

  /** A real call succeeded: up. */
  ok(): void {
    if (this.stopped || this.state.up) return;
    this.set({ up: true, since: Date.now(), probing: this.state.probing });
  }

  /** Runs a check now (tests, and callers that want a fresh answer); resolves when it is done. */
  async checkNow(): Promise<void> {
    if (this.options.check === undefined || this.state.probing || this.stopped) return;
    clearTimeout(this.timer);
    await this.run();
  }

  /** Stops the checks; the part reads down from now on (`reason`, e.g. closed), without telling listeners (a shutdown is no outage). */
  stop(reason = 'closed'): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.listeners.clear();
    this.state = { up: false, since: Date.now(), error: { code: 'CLOSED', message: reason }, probing: false };
    this.stopped = true;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.run(), ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const check = this.options.check;
    if (check === undefined || this.stopped) return;
    this.state = { ...this.state, probing: true };
    // A check that timed out may still be out (a hung connection): wait on that one again
    // instead of starting another, so a store that never answers does not pile up checks.
    let current = this.outstanding;
    if (current === undefined) {
      const started = Promise.resolve().then(check);
      current = started;
      this.outstanding = started;
      const settled = (): void => {
        if (this.outstanding === started) this.outstanding = undefined;
      };
      started.then(settled, settled);
    }
    let timer: NodeJS.Timeout | undefined;
    let failure: unknown;
    try {
      await Promise.race([
        current,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ProbeTimeoutError(this.timeoutMs)), this.timeoutMs);
        }),
      ]);
    } catch (err) {
      failure = err ?? new Error('check failed');
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) return;
    this.state = { ...this.state, probing: false };
    if (failure === undefined) this.ok();
    else if (this.state.up) this.fail(failure);
    else this.state = { ...this.state, error: partError(failure) };
    this.schedule(this.state.up ? this.intervalMs : this.downIntervalMs);
  }

  private set(next: PartState): void {
    const previous = this.state;
    this.state = next;
    for (const l of this.listeners) {
      try {
        l(this, previous);
      } catch {
        // A listener (logging, metrics) never breaks the state machine.
      }
    }
  }
}
