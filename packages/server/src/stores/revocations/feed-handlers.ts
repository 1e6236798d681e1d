import type { RevocationEvent } from '../types.js';

export type RevocationHandler = (event: RevocationEvent) => void;

/**
 * The subscribers of one revocation feed, shared by every backend: each delivery runs every
 * handler over a snapshot (a handler that (un)subscribes meanwhile does not disturb the round),
 * and a throwing handler does not stop the others; its error goes to `onHandlerError`.
 */
export class FeedHandlers {
  private readonly handlers = new Set<RevocationHandler>();
  private closed = false;

  constructor(private readonly onHandlerError?: (err: unknown, event: RevocationEvent) => void) {}

  /** Adds a subscription (none once closed); the same function added twice is two subscriptions. */
  add(handler: RevocationHandler): () => void {
    const h: RevocationHandler = (e) => handler(e);
    if (!this.closed) this.handlers.add(h);
    return () => {
      this.handlers.delete(h);
    };
  }

  deliver(event: RevocationEvent): void {
    for (const h of [...this.handlers]) {
      try {
        h(event);
      } catch (err) {
        try {
          this.onHandlerError?.(err, event);
        } catch {
          // The error reporter itself failed; nothing more to do.
        }
      }
    }
  }

  /** Drops every subscription and refuses new ones. */
  close(): void {
    this.closed = true;
    this.handlers.clear();
  }
}
