import type { RevocationEvent } from '../types.js';

/**
 * Identity of an event: the same revocation arriving twice (published here and read back from
 * the revocation log, or from pub/sub and from polling) is handled once. A pending revocation
 * (taken while the store was away) and its applied copy are two events.
 */
export function revocationEventKey(e: RevocationEvent): string {
  return e.pending === true ? `p\u0000${eventKey(e)}` : eventKey(e);
}

function eventKey(e: RevocationEvent): string {
  switch (e.type) {
    case 'session':
      return `s\u0000${e.sid}\u0000${e.at}`;
    case 'user':
      return `u\u0000${e.userId}\u0000${e.notBefore}\u0000${e.at}`;
    case 'access_token':
      return `a\u0000${e.jti}\u0000${e.exp}\u0000${e.at}`;
    case 'api_token':
      return `k\u0000${e.tokenId}\u0000${e.at}`;
    case 'client':
      return `c\u0000${e.clientId}\u0000${e.at}`;
    case 'session_auth':
      return `r\u0000${e.sid}\u0000${e.authTime}\u0000${e.at}`;
  }
}

const MAX_ENTRIES = 100_000;

/**
 * The events a feed has delivered, remembered long enough that a poll reading back
 * `overlapMs` of the log never delivers one twice (kept `2 × overlapMs + 60 s`), and at most
 * 100 000 of them. Shared by the feeds that poll the revocation log (Redis, in-process).
 */
export class SeenEvents {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly overlapMs: number,
  ) {}

  /** True the first time `event` is offered (then it is remembered); false for a repeat. */
  first(event: RevocationEvent): boolean {
    const key = revocationEventKey(event);
    if (this.seen.has(key)) return false;
    this.remember(key);
    return true;
  }

  private remember(key: string): void {
    const now = this.now();
    this.seen.set(key, now);
    const keepAfter = now - (2 * this.overlapMs + 60_000);
    for (const [k, at] of this.seen) {
      if (at > keepAfter && this.seen.size <= MAX_ENTRIES) break;
      this.seen.delete(k);
    }
  }
}
