import type { Redis } from 'ioredis';
import { StoreUnavailableError } from '../../errors/index.js';
import type { PendingRevocationStore, RevocationEvent } from '../types.js';
import { isRevocationEvent, revocationEventKey } from './redis-revocation-feed.js';

export interface RedisPendingRevocationsOptions {
  /** A request-path client (`createRequestPathRedis`: no offline queue, short command timeout). Not closed here. */
  client: Redis;
  /** The hash holding them; default `gatehouse:revocations:pending`. */
  key?: string;
}

/**
 * Revocations taken while PostgreSQL was away, in one Redis hash (field: the event's identity,
 * value: the event as JSON), until an instance has applied them to PostgreSQL
 * (`auth/pending-revocations.ts`). A Redis write is acknowledged before the sign-out answers, so
 * a Gatehouse process that dies meanwhile loses nothing; Redis itself runs without persistence
 * in the reference setup, so losing Redis AND PostgreSQL together loses what is still pending
 * (docs/design-notes.md). Every failure throws StoreUnavailableError (never queued).
 */
export class RedisPendingRevocations implements PendingRevocationStore {
  private readonly client: Redis;
  private readonly key: string;

  constructor(options: RedisPendingRevocationsOptions) {
    this.client = options.client;
    this.key = options.key ?? 'gatehouse:revocations:pending';
  }

  async add(event: RevocationEvent): Promise<void> {
    try {
      await this.client.hset(this.key, revocationEventKey(event), JSON.stringify(event));
    } catch (err) {
      throw new StoreUnavailableError('pending revocations', err);
    }
  }

  async list(): Promise<RevocationEvent[]> {
    let all: Record<string, string>;
    try {
      all = await this.client.hgetall(this.key);
    } catch (err) {
      throw new StoreUnavailableError('pending revocations', err);
    }
    const events: RevocationEvent[] = [];
    for (const raw of Object.values(all)) {
      try {
        const e: unknown = JSON.parse(raw);
        if (isRevocationEvent(e)) events.push(e);
      } catch {
        // Not ours; skipped.
      }
    }
    return events.sort((a, b) => a.at - b.at);
  }

  async remove(event: RevocationEvent): Promise<void> {
    try {
      await this.client.hdel(this.key, revocationEventKey(event));
    } catch (err) {
      throw new StoreUnavailableError('pending revocations', err);
    }
  }
}
