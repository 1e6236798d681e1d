import type { RevocationEvent, RevocationFeed } from '../types.js';

type Handler = (event: RevocationEvent) => void;

/**
 * The revocation feed of a single process (embedded default). Handlers run synchronously
 * inside `publish`, so once it resolves every subscriber has seen the event. A throwing
 * handler does not stop the others; its error goes to `onHandlerError` when given.
 */
export class InProcessRevocationFeed implements RevocationFeed {
  private handlers = new Set<Handler>();
  private closed = false;

  constructor(private readonly options: { onHandlerError?: (err: unknown, event: RevocationEvent) => void } = {}) {}

  async publish(event: RevocationEvent): Promise<void> {
    if (this.closed) return;
    // Snapshot: a handler that (un)subscribes during publish does not disturb this round.
    for (const h of [...this.handlers]) {
      try {
        h(event);
      } catch (err) {
        try {
          this.options.onHandlerError?.(err, event);
        } catch {
          // The error reporter itself failed; nothing more to do.
        }
      }
    }
  }

  subscribe(handler: Handler): () => void {
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const h: Handler = (e) => handler(e);
    if (!this.closed) this.handlers.add(h);
    return () => {
      this.handlers.delete(h);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
  }
}
