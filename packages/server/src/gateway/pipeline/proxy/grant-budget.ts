import { performance } from 'node:perf_hooks';
import { GatehouseError } from '../../../errors/index.js';
import type { Exchange } from '../../exchange.js';
import { sendProblem } from '../respond/respond.js';

/**
 * The grant CPU-share budget (issue 19). In `gatehouse start` the gateway and the auth service
 * share one process and one event loop, and a refresh grant costs the loop ~0.5 ms (about six
 * cookie requests): a storm of grants took the loop from everything else (cookies kept 0.14 of
 * their throughput). A cap on grants in flight is not enough on one core; this holds grants to a
 * SHARE of the loop while the loop is saturated and other requests are being served.
 *
 * Windows of `windowMs` (one unref'd interval for the process, never a timer per request): each
 * counts the grants dispatched and the other requests (one counter increment on their path,
 * nothing else), and reads the loop's busy time from `performance.eventLoopUtilization()`. The
 * two costs, another request's and a grant's, are estimated by least squares over the recent
 * windows (busy ≈ otherCost × others + grantCost × grants, decayed ~1 s). When a window was
 * saturated (utilisation ≥ `saturation`) and others were served, the next window lets grants
 * use max(share, saturation − the others' load) of it (work-conserving: others that need little
 * leave the rest to grants; others that take all they get converge to 1 − share), and the rest
 * wait FIFO, released at the next windows. A queue over `queueMax`, or a wait over `maxWaitMs`,
 * is refused: 503 `unavailable` with Retry-After (GrantGate). A loop that is not saturated, or
 * serves grants alone, lets grants pass with no delay.
 *
 * Only `POST /auth/token` counts as a grant (refresh, password, client credentials and device
 * polls all come there). Not /auth/revoke: a revocation must never wait behind a storm; not
 * sign-in or sign-up: their argon2id hashing runs off the loop in its own bounded queue
 * (password.maxConcurrentHashes); not introspection (a read, no signing).
 */
export interface GrantBudgetOptions {
  /** The loop share grants keep while others are served (0 < share ≤ 1; 1: no budget at all). */
  share: number;
  /** Length of a window (ms). */
  windowMs?: number;
  /**
   * Loop utilisation (0..1) from which a window counts as saturated. Below 1: where the load
   * shares the cores with the process (another process, a load generator), a loop at 0.6 may
   * already be all the CPU it gets (measured: the gateway at 0.6 cores, its loop never near 1).
   */
  saturation?: number;
  /**
   * A grant's cost is never estimated below this (ms; default 0.1: signing, a store write and
   * two HTTP hops never cost less). Beside heavy others the fit can put a grant near 0 and let
   * a whole storm through.
   */
  minGrantMs?: number;
  /** Most grants waiting; more are refused at once. */
  queueMax?: number;
  /** Longest wait of a grant (ms); past it, refused. */
  maxWaitMs?: number;
  /** Monotonic ms (performance.now). */
  now?: () => number;
  /** The loop's busy time so far, ms (performance.eventLoopUtilization().active). */
  loopActiveMs?: () => number;
  /** Starts the ticker (every windowMs: ends the window, releases waiting grants); returns its stop. */
  startTicker?: (tick: () => void, ms: number) => () => void;
}

/** What operators see (metrics): grants that waited, grants refused. */
export interface GrantBudgetObserver {
  grantQueued(): void;
  grantRefused(): void;
}

/** A grant's default loop cost before any window measured one (ms); a refresh measured ~0.5. */
const DEFAULT_GRANT_MS = 1;
/** Another request's default loop cost (ms): a cookie request measured ~0.08. */
const DEFAULT_OTHER_MS = 0.1;
/** Per window, what the cost estimate keeps of the windows before (~1 s of memory at 50 ms). */
const DECAY = 0.95;
/** A cost is never estimated below this (ms): a guard against a noisy window. */
const MIN_COST_MS = 0.01;
/** Decayed sum of squared counts (≈ windows × count²) each kind needs before the two costs are fitted together. */
const MIN_EVIDENCE = 50;
/** Others below this share of a window (by their estimated cost) leave grants unlimited. */
const TRICKLE = 0.05;
/**
 * A grant's cost is never estimated above this (ms; a refresh measured ~0.5): beside heavy
 * others a grant's share of a window is within their noise, and an estimate of tens of ms
 * would starve grants.
 */
const MAX_GRANT_MS = 5;

function realTicker(tick: () => void, ms: number): () => void {
  const t = setInterval(tick, ms);
  t.unref();
  return () => clearInterval(t);
}

interface Held<C, B> {
  ex: Exchange;
  call: C;
  body: B;
}

/** The budget core, over anything the caller holds (unit tests use plain values). */
export class GrantBudget<T> {
  /** Other requests in this window: the caller's one increment per non-grant request. */
  others = 0;
  private grants = 0;
  private readonly share: number;
  private readonly windowMs: number;
  private readonly saturation: number;
  private readonly queueMax: number;
  private readonly minGrantMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly loopActiveMs: () => number;
  private readonly startTicker: (tick: () => void, ms: number) => () => void;
  private windowStart: number;
  private activeStart: number;
  private limited = false;
  /** Loop ms grants may still take in this window (while limited; negative: overdrawn). */
  private budgetMs = 0;
  private otherCostMs = DEFAULT_OTHER_MS;
  private grantCostMs = DEFAULT_GRANT_MS;
  /** FIFO: items from `head` on wait. */
  private queue: { item: T; at: number }[] = [];
  private head = 0;
  private stopTicker: (() => void) | null = null;
  /** Decayed sums of the windows' others (o), grants (g) and busy ms (b), for the costs. */
  private soo = 0;
  private sog = 0;
  private sgg = 0;
  private sob = 0;
  private sgb = 0;

  constructor(
    options: GrantBudgetOptions,
    private readonly send: (item: T) => void,
    private readonly refuse: (item: T) => void,
    private readonly observer?: GrantBudgetObserver,
  ) {
    if (!(options.share > 0 && options.share <= 1)) throw new RangeError('grant share must be in (0, 1]');
    this.share = options.share;
    this.windowMs = options.windowMs ?? 50;
    this.saturation = options.saturation ?? 0.6;
    this.queueMax = options.queueMax ?? 1024;
    this.minGrantMs = options.minGrantMs ?? 0.1;
    this.maxWaitMs = options.maxWaitMs ?? 2_000;
    this.now = options.now ?? (() => performance.now());
    this.loopActiveMs = options.loopActiveMs ?? (() => performance.eventLoopUtilization().active);
    this.startTicker = options.startTicker ?? realTicker;
    this.windowStart = this.now();
    this.activeStart = this.loopActiveMs();
    // One timer for the process (not per request): windows of even length, so the costs are
    // estimated from like windows, and waiting grants are released.
    this.stopTicker = this.startTicker(() => this.tick(), this.windowMs);
  }

  /** Grants waiting now. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** Whether the current window holds grants to their share. */
  get holding(): boolean {
    return this.limited;
  }

  /** Estimated loop cost of a grant and of another request (ms). */
  get costs(): { grantMs: number; otherMs: number } {
    return { grantMs: this.grantCostMs, otherMs: this.otherCostMs };
  }

  /** A grant: true when the caller sends it now; false when it was queued (or refused). */
  admit(item: T): boolean {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.roll(now);
    if (!this.limited) {
      this.grants++;
      return true;
    }
    if (this.head === this.queue.length && this.budgetMs > 0) {
      this.budgetMs -= this.grantCostMs;
      this.grants++;
      return true;
    }
    if (this.waiting >= this.queueMax) {
      this.observer?.grantRefused();
      this.refuse(item);
      return false;
    }
    this.queue.push({ item, at: now });
    this.observer?.grantQueued();
    return false;
  }

  /** Ends the window when it is over, refuses grants past their wait, releases what the budget allows. */
  tick(): void {
    const now = this.now();
    if (now - this.windowStart >= this.windowMs) this.roll(now);
    // Not a local alias of the queue: shift() replaces the array.
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      if (now - next.at > this.maxWaitMs) {
        this.shift();
        this.observer?.grantRefused();
        this.refuse(next.item);
        continue;
      }
      if (this.limited) {
        if (this.budgetMs <= 0) break;
        this.budgetMs -= this.grantCostMs;
      }
      this.shift();
      this.grants++;
      this.send(next.item);
    }
  }

  /** Refuses every waiting grant and stops the ticker (the gateway closes). */
  close(): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.shift();
      this.refuse(next.item);
    }
    this.stopTicker?.();
    this.stopTicker = null;
  }

  private shift(): void {
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Least squares over the windows (decayed): busy ≈ otherCost × others + grantCost × grants.
   * On a saturated loop the windows lie on a line (busy ≈ the window) that the shares of the
   * two kinds move along, which separates the two costs; when they do not vary enough (or one
   * kind is missing), the cost of the kind that is there is estimated with the other held.
   */
  private estimate(o: number, g: number, busy: number): void {
    const d = DECAY;
    this.soo = this.soo * d + o * o;
    this.sog = this.sog * d + o * g;
    this.sgg = this.sgg * d + g * g;
    this.sob = this.sob * d + o * busy;
    this.sgb = this.sgb * d + g * busy;
    const det = this.soo * this.sgg - this.sog * this.sog;
    const clamp = (ms: number, max = this.windowMs, min = MIN_COST_MS) => Math.min(Math.max(ms, min), max);
    // Jointly only with enough of both kinds in the recent windows: one grant beside a few
    // others fits any split of the busy time (measured: others estimated near 0, taken for a
    // trickle, grants never held).
    if (this.soo >= MIN_EVIDENCE && this.sgg >= MIN_EVIDENCE && det > 0.02 * this.soo * this.sgg) {
      const c = (this.sob * this.sgg - this.sgb * this.sog) / det;
      const G = (this.sgb * this.soo - this.sob * this.sog) / det;
      if (c > 0 && G > 0) {
        this.otherCostMs = clamp(c);
        this.grantCostMs = clamp(G, MAX_GRANT_MS, this.minGrantMs);
        return;
      }
    }
    // A window without grants measures the others alone (not through the grant estimate, which
    // when too high pushed the others' towards 0: a trickle, and grants never held).
    if (g === 0 && o > 0) this.otherCostMs = clamp(this.otherCostMs + 0.2 * (busy / o - this.otherCostMs));
    else if (this.sgg > 0) this.grantCostMs = clamp((this.sgb - this.otherCostMs * this.sog) / this.sgg, MAX_GRANT_MS, this.minGrantMs);
  }

  private roll(now: number): void {
    const active = this.loopActiveMs();
    const span = now - this.windowStart;
    const busy = Math.max(0, active - this.activeStart);
    const o = this.others;
    const g = this.grants;
    this.others = 0;
    this.grants = 0;
    this.windowStart = now;
    this.activeStart = active;
    this.estimate(o, g, busy);
    const saturated = span > 0 && busy / span >= this.saturation;
    const wasLimited = this.limited;
    const othersLoad = span > 0 ? Math.min(1, (this.otherCostMs * o) / span) : 1;
    // A trickle of others (health checks, a few users) does not hold a storm back.
    this.limited = this.share < 1 && saturated && othersLoad >= TRICKLE;
    if (!this.limited) return;
    // The next window lasts about as long as this one (the ticker comes late on a busy loop).
    const allowance = Math.max(this.windowMs, span) * Math.max(this.share, this.saturation - othersLoad);
    // An overdrawn window (a grant costs more than the allowance) is paid back by the next ones;
    // an unused allowance is not saved up.
    this.budgetMs = wasLimited ? Math.min(allowance, this.budgetMs + allowance) : allowance;
  }
}

/** Where a refused grant's answer is counted (the proxy's observer). */
export interface GrantRefusalObserver {
  gatewayAnswered(ex: Exchange, status: number, code: string): void;
}

/**
 * The proxy's hook: `pass` is called at dispatch for every proxied request. A request that is not
 * a grant costs one increment; a grant is sent now (true) or held, then sent through `send` or
 * refused with 503 `unavailable` and Retry-After (problem+json, as the gateway's other 503s for
 * the auth service).
 */
export class GrantGate<C, B> {
  readonly budget: GrantBudget<Held<C, B>>;

  constructor(
    options: GrantBudgetOptions,
    send: (ex: Exchange, call: C, body: B) => void,
    answered: GrantRefusalObserver,
    observer?: GrantBudgetObserver,
  ) {
    this.budget = new GrantBudget<Held<C, B>>(
      options,
      (h) => {
        // The client went away while its grant waited: nothing to send it for.
        if (!h.ex.res.destroyed) send(h.ex, h.call, h.body);
      },
      (h) => {
        const error = new GatehouseError('unavailable', { detail: 'The auth service is busy; try again shortly.', headers: { 'retry-after': '1' } });
        const status = sendProblem(h.ex.req, h.ex.res, error);
        if (status !== 0) answered.gatewayAnswered(h.ex, status, error.code);
      },
      observer,
    );
  }

  pass(ex: Exchange, call: C, body: B): boolean {
    const route = ex.route;
    if (!route.authService || route.prefix !== '/auth/token' || ex.req.method !== 'POST') {
      this.budget.others++;
      return true;
    }
    return this.budget.admit({ ex, call, body });
  }

  close(): void {
    this.budget.close();
  }
}
