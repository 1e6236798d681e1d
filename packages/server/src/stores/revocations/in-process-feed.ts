import type { RevocationEvent, RevocationFeed } from '../types.js';
import { FeedHandlers, type RevocationHandler } from './feed-handlers.js';

/**
 * The revocation feed of a single process (embedded default). Handlers run synchronously
 * inside `publish`, so once it resolves every subscriber has seen the event. A throwing
 * handler does not stop the others; its error goes to `onHandlerError` when given.
 */
export class InProcessRevocationFeed implements RevocationFeed {
  private readonly handlers: FeedHandlers;
  private closed = false;

  constructor(options: { onHandlerError?: (err: unknown, event: RevocationEvent) => void } = {}) {
    this.handlers = new FeedHandlers(options.onHandlerError);
  }

  async publish(event: RevocationEvent): Promise<void> {
    if (this.closed) return;
    this.handlers.deliver(event);
  }

  subscribe(handler: RevocationHandler): () => void {
    return this.handlers.add(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.close();
  }
}
