import type { RevocationEvent, RevocationFeed } from '../types.js';

/**
 * How a ClusterRevocationFeed reaches the other processes of its machine (`--workers N`:
 * start/cluster-ipc.ts carries it over node:cluster's IPC channel).
 */
export interface FeedRelay {
  /**
   * Hands `event` to every other process; resolves once each has delivered it to its own
   * subscribers (or a process is gone, or a short bound passed: a hung sibling never holds a
   * sign-out back).
   */
  send(event: RevocationEvent): Promise<void>;
  /** Sets what runs for each event another process published (delivery to this process's subscribers). */
  receive(handler: (event: RevocationEvent) => void): void;
}

/**
 * The in-process feed of one process of a cluster (`gatehouse start --workers N` without Redis):
 * a publish delivers here synchronously, as the in-process feed does, then reaches every sibling
 * through `relay` and resolves once they have delivered it too. So when the auth service answers
 * a sign-out, every worker already refuses the session: the bound of a single process, kept
 * across processes. (The revocation log polling of the wrapped feed stays, for what other
 * programs record; an event heard both ways is delivered once.)
 */
export class ClusterRevocationFeed implements RevocationFeed {
  constructor(
    private readonly local: RevocationFeed,
    private readonly relay: FeedRelay,
  ) {
    relay.receive((event) => void local.publish(event));
  }

  async publish(event: RevocationEvent): Promise<void> {
    await this.local.publish(event);
    await this.relay.send(event);
  }

  subscribe(handler: (event: RevocationEvent) => void): () => void {
    return this.local.subscribe(handler);
  }

  close(): Promise<void> {
    return this.local.close();
  }
}
