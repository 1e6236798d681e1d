import type { Redis } from 'ioredis';
import { GatehouseError, StoreUnavailableError } from '../../errors/index.js';
import { isRevocationEvent, type PendingRevocationStore, type RevocationEvent } from '../types.js';

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
  /**
   * Most revocations one user may hold at once (default 100): one account naming made-up ids
   * must not fill `maxEntries` and so refuse everyone else's sign-outs. Access-token
   * revocations name no user; each needs a real signed token.
   */
  maxPerUser?: number;
}

/**
 * The hash field of a pending revocation: WHAT it revokes and for whom, not when, so a retry of
 * the same sign-out (new `at`) replaces its entry instead of taking another place, and two users
 * naming one id keep an entry each (neither overwrites the other's).
 */
export function pendingField(e: RevocationEvent): string {
  switch (e.type) {
    case 'session':
      return `s\u0000${e.sid}\u0000${e.userId ?? ''}`;
    case 'user':
      return `u\u0000${e.userId}\u0000${e.notBefore}`;
    case 'access_token':
      return `a\u0000${e.jti}`;
    case 'api_token':
      return `k\u0000${e.tokenId}\u0000${e.userId ?? ''}`;
    case 'client':
      return `c\u0000${e.clientId}`;
    case 'session_auth':
      return `r\u0000${e.sid}\u0000${e.userId}`;
  }
}

/** The user a pending revocation is counted against ('' for none). */
function ownerOf(e: RevocationEvent): string {
  return e.type === 'access_token' || e.type === 'client' ? '' : (e.userId ?? '');
}

/**
 * KEYS: the hash, the per-user counts. ARGV: field, value, maxEntries, user ('' none), maxPerUser.
 * 1 stored (a retry of a stored one always fits), 0 the hash is full, -1 the user holds its share.
 */
const ADD_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
if ARGV[4] ~= '' then
  if tonumber(redis.call('HGET', KEYS[2], ARGV[4]) or '0') >= tonumber(ARGV[5]) then return -1 end
  redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** KEYS: the hash, the per-user counts. ARGV: field, user ('' none). */
const REMOVE_SCRIPT = `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 and ARGV[2] ~= '' then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
end
return 1`;

/**
 * Revocations taken while PostgreSQL was away, in one Redis hash (field: `pendingField`, what is
 * revoked for whom; value: the event as JSON), with a count per user beside it, until an instance has applied them to PostgreSQL
 * (`auth/pending-revocations.ts`). A Redis write is acknowledged before the sign-out answers, so
 * a Gatehouse process that dies meanwhile loses nothing; Redis itself runs without persistence
 * in the reference setup, so losing Redis AND PostgreSQL together loses what is still pending
 * (docs/design-notes.md). Every failure throws StoreUnavailableError (never queued).
 */
export class RedisPendingRevocations implements PendingRevocationStore {
  private readonly client: Redis;
  private readonly key: string;
  private readonly maxEntries: number;
  private readonly maxPerUser: number;
  /** How many entries each user holds (`<key>:per-user`, kept with the hash by the scripts above). */
  private readonly countsKey: string;

  constructor(options: RedisPendingRevocationsOptions) {
    this.client = options.client;
    this.key = options.key ?? 'gatehouse:revocations:pending';
    this.maxEntries = options.maxEntries ?? 100_000;
    this.maxPerUser = options.maxPerUser ?? 100;
    this.countsKey = `${this.key}:per-user`;
  }

  async add(event: RevocationEvent): Promise<void> {
    const run = async () =>
      Number(await this.client.eval(ADD_SCRIPT, 2, this.key, this.countsKey, pendingField(event), JSON.stringify(event), this.maxEntries, ownerOf(event), this.maxPerUser));
    let stored: number;
    try {
      stored = await run();
    } catch {
      // Once more: this is a sign-out's last way to be recorded while PostgreSQL is away, and one
      // reply late past the request-path client's short command timeout (a loaded host) must not
      // refuse it. The script is idempotent per field (an entry already there is only rewritten).
      try {
        stored = await run();
      } catch (err) {
        throw new StoreUnavailableError('pending revocations', err);
      }
    }
    if (stored !== 1) {
      throw new GatehouseError('unavailable', {
        detail:
          stored === -1
            ? 'Too many of your revocations are waiting for the database to come back; nothing was revoked. Try again shortly.'
            : 'Too many revocations are waiting for the database to come back; nothing was revoked. Try again shortly.',
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
      await this.client.eval(REMOVE_SCRIPT, 2, this.key, this.countsKey, pendingField(event), ownerOf(event));
    } catch (err) {
      throw new StoreUnavailableError('pending revocations', err);
    }
  }
}
