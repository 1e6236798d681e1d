import { describe, expect, it } from 'vitest';
import { GrantBudget, type GrantBudgetOptions } from './grant-budget.js';

/** A budget on a hand-driven clock and loop: `run(ms, busyMs)` advances both. */
function rig(options: Partial<GrantBudgetOptions> = {}) {
  let now = 1_000;
  let active = 0;
  const sent: string[] = [];
  const refused: string[] = [];
  const counts = { queued: 0, refused: 0 };
  let ticker: (() => void) | null = null;
  const budget = new GrantBudget<string>(
    {
      share: 0.15,
      windowMs: 50,
      now: () => now,
      loopActiveMs: () => active,
      startTicker: (tick) => {
        ticker = tick;
        return () => (ticker = null);
      },
      ...options,
    },
    (item) => sent.push(item),
    (item) => refused.push(item),
    { grantQueued: () => counts.queued++, grantRefused: () => counts.refused++ },
  );
  return {
    budget,
    sent,
    refused,
    counts,
    /** Time passes with the loop busy for `busyMs` of it; then the ticker fires (ends the window, releases). */
    run(ms: number, busyMs: number) {
      now += ms;
      active += busyMs;
      ticker?.();
    },
    get ticking() {
      return ticker !== null;
    },
  };
}

/** One 50 ms window of a saturated loop serving `others` requests of 0.08 ms and the grants sent. */
function saturatedWindow(r: ReturnType<typeof rig>, others: number) {
  r.budget.others += others;
  r.run(50, 49);
}

describe('GrantBudget', () => {
  it('lets grants pass straight while the loop is not saturated', () => {
    const r = rig();
    for (let w = 0; w < 10; w++) {
      r.budget.others += 100;
      for (let i = 0; i < 20; i++) expect(r.budget.admit(`g${w}.${i}`)).toBe(true);
      r.run(50, 20); // 40 % busy
    }
    expect(r.budget.holding).toBe(false);
    expect(r.budget.waiting).toBe(0);
  });

  it('lets a storm of grants alone pass straight, however saturated the loop', () => {
    const r = rig();
    for (let w = 0; w < 30; w++) {
      for (let i = 0; i < 100; i++) expect(r.budget.admit(`g${w}.${i}`)).toBe(true);
      r.run(50, 50);
    }
    expect(r.budget.holding).toBe(false);
    expect(r.counts.queued).toBe(0);
    // Learned from windows of grants alone: 50 ms / 100 grants.
    expect(r.budget.costs.grantMs).toBeCloseTo(0.5, 1);
  });

  it('holds grants to their share of a saturated loop while others are served, and queues the rest', () => {
    const r = rig();
    // Others alone first: a request costs 0.08 ms.
    for (let w = 0; w < 20; w++) {
      r.budget.others += 625;
      r.run(50, 50);
    }
    // The first grant ends that long window (rolled late: it weighs as the windows it spans).
    expect(r.budget.admit('first')).toBe(true);
    expect(r.budget.costs.otherMs).toBeCloseTo(0.08, 2);
    expect(r.budget.holding).toBe(true);
    // Then a storm beside them; each grant really costs 0.5 ms.
    let admittedLate = 0;
    for (let w = 0; w < 40; w++) {
      let admitted = 0;
      for (let i = 0; i < 100; i++) if (r.budget.admit(`g${w}.${i}`)) admitted++;
      const released = r.sent.length;
      const grantsRun = admitted + released;
      r.sent.length = 0;
      // The loop is saturated: the others get what the grants leave.
      const othersMs = 50 - grantsRun * 0.5;
      r.budget.others += Math.max(0, Math.floor(othersMs / 0.08));
      r.run(50, 50);
      if (w >= 30) admittedLate += grantsRun;
    }
    expect(r.budget.holding).toBe(true);
    // 15 % of 50 ms at 0.5 ms a grant: 15 a window (a little more while the estimate settles).
    expect(admittedLate / 10).toBeGreaterThanOrEqual(12);
    expect(admittedLate / 10).toBeLessThanOrEqual(20);
    expect(r.budget.costs.grantMs).toBeGreaterThan(0.35);
    expect(r.counts.queued).toBeGreaterThan(0);
  });

  it('gives grants what the others leave when the others need little (work-conserving)', () => {
    const r = rig();
    for (let w = 0; w < 20; w++) {
      r.budget.others += 625;
      r.run(50, 50);
    }
    // Others need 20 % of the loop; grants fill it.
    for (let w = 0; w < 10; w++) {
      for (let i = 0; i < 100; i++) r.budget.admit(`g${w}.${i}`);
      r.budget.others += 125;
      r.run(50, 50);
    }
    r.sent.length = 0;
    let n = 0;
    for (let i = 0; i < 100; i++) if (r.budget.admit(`x${i}`)) n++;
    r.run(50, 50);
    // max(share, saturation - others' load) = 0.7 of 50 ms: far above the 15 % share.
    expect(n + r.sent.length).toBeGreaterThan(40);
  });

  it('releases waiting grants in arrival order, and all at once when the others stop', () => {
    const r = rig({ share: 0.05 });
    // Grants alone (0.5 ms each), then others alone (0.08 ms each): both costs learned.
    for (let w = 0; w < 10; w++) {
      for (let i = 0; i < 100; i++) r.budget.admit(`warm${w}.${i}`);
      r.run(50, 50);
    }
    for (let w = 0; w < 10; w++) saturatedWindow(r, 600);
    expect(r.budget.costs.grantMs).toBeCloseTo(0.5, 1);
    expect(r.budget.costs.otherMs).toBeCloseTo(0.08, 2);
    expect(r.budget.holding).toBe(true);
    const order = Array.from({ length: 30 }, (_, i) => `q${i}`);
    r.sent.length = 0;
    const straight: string[] = [];
    for (const g of order) if (r.budget.admit(g)) straight.push(g);
    // 5 % of a 50 ms window: five grants of 0.5 ms.
    expect(straight.length).toBe(5);
    expect(r.budget.waiting).toBe(25);
    // Others keep the loop busy for two windows: about five are released each.
    saturatedWindow(r, 600);
    saturatedWindow(r, 600);
    expect(r.budget.waiting).toBeGreaterThanOrEqual(13);
    expect(r.budget.waiting).toBeLessThanOrEqual(17);
    // The others stop: the loop idles, everything left goes.
    r.run(50, 5);
    expect(r.budget.waiting).toBe(0);
    expect([...straight, ...r.sent.filter((s) => s.startsWith('q'))]).toEqual(order);
  });

  it('refuses past the queue bound, and past the wait bound', () => {
    const r = rig({ share: 0.01, queueMax: 5, maxWaitMs: 120 });
    saturatedWindow(r, 600);
    r.budget.admit('roll');
    saturatedWindow(r, 600);
    r.budget.admit('roll2');
    expect(r.budget.holding).toBe(true);
    const before = r.budget.waiting;
    const order = Array.from({ length: 8 }, (_, i) => `q${i}`);
    for (const g of order) expect(r.budget.admit(g)).toBe(false);
    expect(r.budget.waiting).toBe(5);
    expect(r.refused).toEqual(order.slice(5 - before));
    // The loop stays saturated by others, with no budget left for these: they wait out their bound.
    for (let w = 0; w < 4; w++) {
      saturatedWindow(r, 600);
    }
    expect(r.refused.length + r.sent.filter((s) => s.startsWith('q')).length).toBe(8);
    expect(r.refused.length).toBeGreaterThan(3);
    expect(r.counts.refused).toBe(r.refused.length);
    expect(r.budget.waiting).toBe(0);
  });

  it('refuses what still waits when closed', () => {
    const r = rig({ share: 0.01 });
    saturatedWindow(r, 600);
    r.budget.admit('roll');
    saturatedWindow(r, 600);
    r.budget.admit('roll2');
    r.budget.admit('a');
    r.budget.admit('b');
    const waiting = r.budget.waiting;
    r.budget.close();
    expect(r.refused.length).toBe(waiting);
    expect(r.ticking).toBe(false);
  });

  it('takes a share in (0, 1] only', () => {
    expect(() => rig({ share: 0 })).toThrow(RangeError);
    expect(() => rig({ share: 1.5 })).toThrow(RangeError);
    const r = rig({ share: 1 });
    saturatedWindow(r, 600);
    r.budget.admit('a');
    saturatedWindow(r, 600);
    expect(r.budget.admit('b')).toBe(true);
    expect(r.budget.holding).toBe(false);
  });
});
