import type { Redis } from 'ioredis';
import { GatehouseError, StoreUnavailableError } from '../../errors/index.js';
import type { PendingRevocationStore, RevocationEvent } from '../types.js';
import { isRevocationEvent, revocationEventKey } from './redis-revocation-feed.js';

export interface RedisPendingRevocationsOptions {
  /** A request-path client (`createRequestPathRedis`: no offline queue, short command timeout). Not closed here. */
  client: Redis;
  /** The hash holding them; default `gatehouse:revocations:pending`. */
  key?: string;
  /**
   * Most revocations held at once (default 100 000); beyond, `add` refuses (503). Each pending
   * one is also held in every gateway's memory until applied, and a caller may name ids that do
   * not exist while the store cannot tell.
   */
  maxEntries?: number;
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
  private readonly maxEntries: number;

  constructor(options: RedisPendingRevocationsOptions) {
    this.client = options.client;
    this.key = options.key ?? 'gatehouse:revocations:pending';
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async add(event: RevocationEvent): Promise<void> {
    const field = revocationEventKey(event);
    let room: boolean;
    try {
      // The same revocation again (a retry) always fits.
      room = (await this.client.hlen(this.key)) < this.maxEntries || (await this.client.hexists(this.key, field)) === 1;
      if (room) await this.client.hset(this.key, field, JSON.stringify(event));
    } catch (err) {
      throw new StoreUnavailableError('pending revocations', err);
    }
    if (!room) {
      throw new GatehouseError('unavailable', {
        detail: 'Too many revocations are waiting for the database to come back; nothing was revoked. Try again shortly.',
        headers: { 'retry-after': '5' },
      });
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
