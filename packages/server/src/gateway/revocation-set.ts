import type { Deps } from '../context.js';
import { StoreUnavailableError } from '../errors/index.js';
import { logStoreFailure } from '../stores/health/outage-log.js';
import type { RevocationEvent } from '../stores/types.js';

/** Clock skew and in-flight margin added to every retention time (ms). */
const LEEWAY_MS = 60_000;
/** A failed warm-up is retried at most this often (ms); bearer requests get 503 meanwhile. */
const WARM_RETRY_MS = 1_000;
/** Expired entries are swept at most this often (clock ms), when an event arrives. */
const SWEEP_EVERY_MS = 60_000;

export type RevocationListener = (event: RevocationEvent) => void;

interface NotBefore {
  /** Epoch seconds: a token with `iat` below this is refused. */
  sec: number;
  /** Kept until (ms). */
  until: number;
}

/**
 * What the gateway refuses without asking a store, fed by `deps.feed` (DESIGN §4): ended
 * session ids, per-user not-before times, revoked access-token `jti`s and deleted API token
 * ids. Every entry is kept as long as a token it could concern can still be valid (the longest
 * access-token lifetime plus leeway), then forgotten. The hot path is a size check per map,
 * and a Map lookup only when that map is non-empty.
 *
 * On creation it subscribes first, then warms up from `stores.revocations.since(...)`, so a
 * restarted gateway still refuses tokens revoked shortly before. Bearer authentication waits
 * for the warm-up (`whenReady`); cookies do not need to (their sessions are deleted in the store).
 *
 * Listeners (the credential caches) run after the set has recorded the event, so a cache that
 * re-reads on a drop already sees the revocation.
 */
export class RevocationSet {
  private readonly sids = new Map<string, number>();
  private readonly users = new Map<string, NotBefore>();
  private readonly jtis = new Map<string, number>();
  private readonly apiTokens = new Map<string, number>();
  private readonly listeners = new Set<RevocationListener>();
  private readonly keepMs: number;
  private readonly unsubscribe: () => void;
  private lastSweep: number;
  private warm: Promise<void> | null = null;
  private warmFailedAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** True once the warm-up read succeeded. */
  ready = false;

  constructor(private readonly deps: Pick<Deps, 'config' | 'clock' | 'logger' | 'stores' | 'feed'>) {
    this.keepMs = deps.config.tokens.accessTokenTtlSec * 1000 + LEEWAY_MS;
    this.lastSweep = deps.clock.now();
    this.unsubscribe = deps.feed.subscribe((event) => this.apply(event));
    void this.startWarmUp().catch(() => undefined);
  }

  /** null when ready; else the warm-up to wait for (rejects with 503 when the store cannot answer). */
  whenReady(): Promise<void> | null {
    if (this.ready) return null;
    if (this.warm !== null) return this.warm;
    if (this.deps.clock.now() - this.warmFailedAt < WARM_RETRY_MS) {
      return Promise.reject(new StoreUnavailableError('revocations'));
    }
    return this.startWarmUp();
  }

  /** Registers a cache to notify of every event (after it is recorded). Returns an unsubscribe function. */
  onEvent(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Whether the session `sid` ended (sign-out, device removed, replaced, theft) recently. */
  sessionEnded(sid: string, now: number): boolean {
    if (this.sids.size === 0) return false;
    const until = this.sids.get(sid);
    if (until === undefined) return false;
    if (until > now) return true;
    this.sids.delete(sid);
    return false;
  }

  /**
   * Whether an access token is revoked: its session ended, it was issued before its user's
   * not-before time (sign-out-all), or its `jti` was revoked (RFC 7009).
   */
  accessTokenRevoked(sid: string, userId: string, iatSec: number, jti: string, now: number): boolean {
    if (this.sessionEnded(sid, now)) return true;
    if (this.users.size !== 0) {
      const nb = this.users.get(userId);
      if (nb !== undefined) {
        if (nb.until <= now) this.users.delete(userId);
        else if (iatSec < nb.sec) return true;
      }
    }
    if (this.jtis.size !== 0) {
      const until = this.jtis.get(jti);
      if (until !== undefined) {
        if (until > now) return true;
        this.jtis.delete(jti);
      }
    }
    return false;
  }

  /** Whether an API token was deleted recently (guards a store read that raced the deletion). */
  apiTokenRevoked(tokenId: string, now: number): boolean {
    if (this.apiTokens.size === 0) return false;
    const until = this.apiTokens.get(tokenId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.apiTokens.delete(tokenId);
    return false;
  }

  /** Entry counts, for tests and metrics. */
  sizes(): { sessions: number; users: number; jtis: number; apiTokens: number } {
    return { sessions: this.sids.size, users: this.users.size, jtis: this.jtis.size, apiTokens: this.apiTokens.size };
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
    this.sids.clear();
    this.users.clear();
    this.jtis.clear();
    this.apiTokens.clear();
  }

  private startWarmUp(): Promise<void> {
    const since = this.deps.clock.now() - this.keepMs;
    const p = this.deps.stores.revocations.since(since).then(
      (events) => {
        if (this.closed) return;
        for (const e of events) this.apply(e);
        this.ready = true;
        this.warm = null;
      },
      (err: unknown) => {
        this.warm = null;
        this.warmFailedAt = this.deps.clock.now();
        logStoreFailure(this.deps.logger, err, 'could not read recent revocations; bearer requests wait until it works');
        throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError('revocations', err);
      },
    );
    this.warm = p;
    return p;
  }

  private apply(event: RevocationEvent): void {
    if (this.closed) return;
    const now = this.deps.clock.now();
    switch (event.type) {
      case 'session':
        this.sids.set(event.sid, Math.max(this.sids.get(event.sid) ?? 0, event.at + this.keepMs));
        break;
      case 'user': {
        // Epoch seconds, floored: a token issued in the same second as the not-before time is
        // kept (as Keycloak's not-before policy does), so a sign-in right after sign-out-all
        // works at once. Every token of a session that existed then also dies by its sid.
        const sec = Math.floor(event.notBefore / 1000);
        const prev = this.users.get(event.userId);
        if (prev === undefined || prev.sec <= sec) this.users.set(event.userId, { sec, until: event.notBefore + this.keepMs });
        break;
      }
      case 'access_token':
        this.jtis.set(event.jti, event.exp * 1000 + LEEWAY_MS);
        break;
      case 'api_token':
        this.apiTokens.set(event.tokenId, event.at + this.keepMs);
        break;
    }
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.deps.logger.error({ err }, 'a revocation listener failed');
      }
    }
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const m of [this.sids, this.jtis, this.apiTokens]) for (const [k, until] of m) if (until <= now) m.delete(k);
    for (const [k, nb] of this.users) if (nb.until <= now) this.users.delete(k);
  }
}
