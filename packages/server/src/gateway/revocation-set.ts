import type { Deps } from '../context.js';
import { StoreUnavailableError } from '../errors/index.js';
import { startedBefore } from '../credentials/revocation.js';
import { logStoreFailure } from '../stores/health/outage-log.js';
import type { RevocationEvent } from '../stores/types.js';

/** Clock skew and in-flight margin added to every retention time (ms). */
const LEEWAY_MS = 60_000;
/** A failed warm-up is retried at most this often (ms); bearer requests get 503 meanwhile. */
const WARM_RETRY_MS = 1_000;
/** Expired entries are swept at most this often (clock ms), when an event arrives. */
const SWEEP_EVERY_MS = 60_000;
/** Kept-until of a pending revocation: until its applied copy arrives (the store still holds the credential). */
const HELD = Number.POSITIVE_INFINITY;

export type RevocationListener = (event: RevocationEvent) => void;

interface NotBefore {
  /** Epoch seconds: a token with `iat` below this is refused. */
  sec: number;
  /** Epoch ms: a session that started before this is ended (sessionUsers). */
  ms: number;
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
 *
 * A pending revocation (taken while PostgreSQL was away, `auth/pending-revocations.ts`) is held
 * without end, since the store still holds the session or token, until its applied copy comes;
 * it refuses only credentials of the user it names. The warm-up reads the pending ones (Redis)
 * too, so a gateway started before they reach the store refuses them as well.
 */
export class RevocationSet {
  private readonly sids = new Map<string, number>();
  private readonly users = new Map<string, NotBefore>();
  private readonly jtis = new Map<string, number>();
  private readonly apiTokens = new Map<string, number>();
  /**
   * Removed OAuth clients: client id -> not-before. A client token, or a user's access token
   * granted to that client (device flow), with `iat` <= `sec` is refused.
   */
  private readonly clients = new Map<string, NotBefore>();
  /**
   * Owners named by pending revocations of a session or an API token: only theirs is refused.
   * A set, because two users may name one id (its owner, and someone who guessed it): a later
   * claim adds to the owners, never replaces them.
   */
  private readonly sidOwners = new Map<string, Set<string>>();
  private readonly apiTokenOwners = new Map<string, Set<string>>();
  /** Not-before times that end sessions too (a sign-out-all taken while the store was away). */
  private readonly sessionUsers = new Map<string, NotBefore>();
  private readonly listeners = new Set<RevocationListener>();
  private readonly keepMs: number;
  /** Retention of a removed client's entry: the longest client-credentials or access token lifetime plus leeway. */
  private readonly keepClientMs: number;
  private readonly unsubscribe: () => void;
  private lastSweep: number;
  private warm: Promise<void> | null = null;
  private warmFailedAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  /** True once the warm-up read succeeded. */
  ready = false;

  constructor(private readonly deps: Pick<Deps, 'config' | 'clock' | 'logger' | 'stores' | 'feed' | 'pendingRevocations'>) {
    this.keepMs = deps.config.tokens.accessTokenTtlSec * 1000 + LEEWAY_MS;
    this.keepClientMs = Math.max(deps.config.tokens.clientCredentialsTtlSec, deps.config.tokens.accessTokenTtlSec) * 1000 + LEEWAY_MS;
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

  /**
   * Records an event this gateway learnt outside the feed (the auth service's answer to a
   * sign-out it proxied), exactly as if the feed had brought it.
   */
  record(event: RevocationEvent): void {
    this.apply(event);
  }

  /** Whether the session `sid` of `userId` ended (sign-out, device removed, replaced, theft) recently. */
  sessionEnded(sid: string, now: number, userId?: string): boolean {
    if (this.sids.size === 0) return false;
    const until = this.sids.get(sid);
    if (until === undefined) return false;
    if (until > now) return !this.otherOwner(this.sidOwners, sid, userId);
    this.sids.delete(sid);
    this.sidOwners.delete(sid);
    return false;
  }

  /**
   * Whether a session of `userId` that started at `createdAt` (ms) was ended by a sign-out-all
   * taken while the store was away (the store still has it until the revocation is applied).
   */
  sessionStartedBeforeNotBefore(userId: string, createdAt: number, now: number): boolean {
    if (this.sessionUsers.size === 0) return false;
    const nb = this.sessionUsers.get(userId);
    if (nb === undefined) return false;
    if (nb.until <= now) {
      this.sessionUsers.delete(userId);
      return false;
    }
    return startedBefore(createdAt, nb.ms);
  }

  /** Whether the pending revocations of `id` named only other owners than `userId`. */
  private otherOwner(owners: Map<string, Set<string>>, id: string, userId: string | undefined): boolean {
    if (owners.size === 0 || userId === undefined) return false;
    const named = owners.get(id);
    return named !== undefined && !named.has(userId);
  }

  /**
   * Whether an access token is revoked: its session ended, it was issued before its user's
   * not-before time (sign-out-all), its `jti` was revoked (RFC 7009), or it was granted to a
   * registered client (`clientId`, a device-flow session; null for the first-party client) that
   * was removed at or after the second it was issued in. First-party tokens never look at the
   * clients, and the others only when a client was removed recently.
   */
  accessTokenRevoked(sid: string, userId: string, iatSec: number, jti: string, now: number, clientId: string | null = null): boolean {
    if (clientId !== null && this.clients.size !== 0 && this.clientRemoved(clientId, iatSec, now)) return true;
    if (this.sessionEnded(sid, now, userId)) return true;
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

  /**
   * Whether a client-credentials token is revoked: its client was removed at or after the second
   * it was issued in (`clients remove`; also refuses the old tokens once a new client takes the
   * id), or its `jti` was revoked (RFC 7009).
   */
  clientTokenRevoked(clientId: string, iatSec: number, jti: string, now: number): boolean {
    if (this.clients.size !== 0 && this.clientRemoved(clientId, iatSec, now)) return true;
    if (this.jtis.size !== 0) {
      const until = this.jtis.get(jti);
      if (until !== undefined) {
        if (until > now) return true;
        this.jtis.delete(jti);
      }
    }
    return false;
  }

  /** Whether `clientId` was removed at or after the second `iatSec` (a token it was issued then is dead). */
  private clientRemoved(clientId: string, iatSec: number, now: number): boolean {
    const nb = this.clients.get(clientId);
    if (nb === undefined) return false;
    if (nb.until > now) return iatSec <= nb.sec;
    this.clients.delete(clientId);
    return false;
  }

  /** Whether an API token of `userId` was deleted recently (guards a store read that raced the deletion). */
  apiTokenRevoked(tokenId: string, now: number, userId?: string): boolean {
    if (this.apiTokens.size === 0) return false;
    const until = this.apiTokens.get(tokenId);
    if (until === undefined) return false;
    if (until > now) return !this.otherOwner(this.apiTokenOwners, tokenId, userId);
    this.apiTokens.delete(tokenId);
    this.apiTokenOwners.delete(tokenId);
    return false;
  }

  /** Entry counts, for tests and metrics. */
  sizes(): { sessions: number; users: number; jtis: number; apiTokens: number; clients: number } {
    return { sessions: this.sids.size, users: this.users.size, jtis: this.jtis.size, apiTokens: this.apiTokens.size, clients: this.clients.size };
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
    this.sids.clear();
    this.users.clear();
    this.jtis.clear();
    this.apiTokens.clear();
    this.clients.clear();
    this.sidOwners.clear();
    this.apiTokenOwners.clear();
    this.sessionUsers.clear();
  }

  private startWarmUp(): Promise<void> {
    const since = this.deps.clock.now() - Math.max(this.keepMs, this.keepClientMs);
    // Pending revocations (Redis) are not in the store yet. Redis away: none known here; the
    // gateways that were running when they were taken hold them.
    const pending = this.deps.pendingRevocations?.list().catch(() => []) ?? Promise.resolve([]);
    const p = Promise.all([this.deps.stores.revocations.since(since), pending]).then(
      ([events, held]) => {
        if (this.closed) return;
        for (const e of events) this.apply(e);
        for (const e of held) this.apply(e);
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
    const pending = event.pending === true;
    switch (event.type) {
      case 'session':
        own(this.sidOwners, this.sids, event.sid, event.userId);
        this.sids.set(event.sid, keep(this.sids.get(event.sid), event.at + this.keepMs, pending));
        break;
      case 'user': {
        // Epoch seconds, floored: a token issued in the same second as the not-before time is
        // kept (as Keycloak's not-before policy does), so a sign-in right after sign-out-all
        // works at once. Every token of a session that existed then also dies by its sid.
        // A pending one (taken while the store is away) also refuses its own second: no access
        // token can be minted after it until the store is back (minting needs the store), and
        // the per-sid refusal that ends same-second tokens of older sessions comes only when it
        // is applied; its applied copy then brings the usual second back.
        const sec = Math.floor(event.notBefore / 1000) + (pending ? 1 : 0);
        const prev = this.users.get(event.userId);
        const until = event.notBefore + this.keepMs;
        const sameEvent = prev !== undefined && prev.ms === event.notBefore;
        if (prev === undefined || prev.sec <= sec || sameEvent) this.users.set(event.userId, { sec, ms: event.notBefore, until: keep(prev?.sec === sec || sameEvent ? prev!.until : undefined, until, pending) });
        if (event.sessions === true) {
          // Sessions have ms times: one started in the same second but before it ends too.
          const prevS = this.sessionUsers.get(event.userId);
          if (prevS === undefined || prevS.ms <= event.notBefore) {
            this.sessionUsers.set(event.userId, { sec, ms: event.notBefore, until: keep(prevS?.ms === event.notBefore ? prevS.until : undefined, until, pending) });
          }
        }
        break;
      }
      case 'access_token':
        this.jtis.set(event.jti, event.exp * 1000 + LEEWAY_MS);
        break;
      case 'api_token':
        own(this.apiTokenOwners, this.apiTokens, event.tokenId, event.userId);
        this.apiTokens.set(event.tokenId, keep(this.apiTokens.get(event.tokenId), event.at + this.keepMs, pending));
        break;
      case 'client': {
        // Seconds, like `iat`: a token issued in the second of the removal is refused too (a
        // client re-created within that second waits a second for a working token).
        const sec = Math.floor(event.at / 1000);
        const prev = this.clients.get(event.clientId);
        if (prev === undefined || prev.sec <= sec) {
          this.clients.set(event.clientId, { sec, ms: event.at, until: keep(prev?.until, event.at + this.keepClientMs, pending) });
        }
        break;
      }
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
    for (const m of [this.users, this.sessionUsers, this.clients]) for (const [k, nb] of m) if (nb.until <= now) m.delete(k);
    for (const [k] of this.sidOwners) if (!this.sids.has(k)) this.sidOwners.delete(k);
    for (const [k] of this.apiTokenOwners) if (!this.apiTokens.has(k)) this.apiTokenOwners.delete(k);
  }
}

/**
 * Kept-until of an entry: a pending revocation is held (HELD) until its applied copy replaces
 * the hold with a normal time; otherwise the later of the two times.
 */
function keep(prev: number | undefined, until: number, pending: boolean): number {
  if (pending) return HELD;
  if (prev === undefined || prev === HELD) return until;
  return Math.max(prev, until);
}

/**
 * The owner a revocation names (pending ones, and their applied copies): only that user's
 * credential is refused. One that names nobody (taken with the store's word) drops it.
 */
function own(owners: Map<string, Set<string>>, entries: Map<string, number>, id: string, userId: string | undefined): void {
  if (userId === undefined) {
    owners.delete(id);
    return;
  }
  const named = owners.get(id);
  // Another user naming the same id adds an owner: it never lifts the refusal of the first
  // (user A naming B's session during an outage must not bring B's ended session back).
  if (named !== undefined) named.add(userId);
  // An entry already refusing every owner stays so.
  else if (!entries.has(id)) owners.set(id, new Set([userId]));
}
