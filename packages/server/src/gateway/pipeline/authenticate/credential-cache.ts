import { LRUCache } from 'lru-cache';
import type { Deps } from '../../../context.js';
import { GatehouseError, StoreUnavailableError } from '../../../errors/index.js';
import { logStoreFailure } from '../../../stores/health/outage-log.js';
import type { HotCache, RevocationEvent } from '../../../stores/types.js';
import type { RevocationSet } from '../../revocation-set.js';
import { UNKNOWN_CREDENTIALS_MAX, type DegradedReason, type DegradedReporter, type Identity } from './types.js';

/** While the store is away, retry it at most this often per cached credential (memory or hot copy served meanwhile). */
const STALE_RETRY_MS = 1_000;

/** A cached credential: the Identity of every request that carries its secret (no per-request object). */
export interface CredentialEntry extends Identity {
  /** `hashSecret` of the secret: the cache key, and the key in the store. */
  readonly tokenHash: string;
  /** When read from the store (clock ms), by this instance or, through the hot copy, another; fresh for `session.cacheTtlMs`. */
  loadedAt: number;
}

/** Every hot copy (shared HotCache, Redis) starts with this: the format version and when an instance read it from the store. */
export interface HotEnvelope {
  v: 1;
  /** When an instance read it from the durable store (epoch ms). */
  w: number;
}

/** What a revocation event means to one kind of credential (see CredentialAdapter.match). */
export type RevocationMatch =
  /**
   * One credential ended: `id` as `idOf` names it. `userId`: the owner a pending revocation
   * names (only that owner's shared copy is deleted), undefined when the store confirmed it.
   */
  | { readonly kind: 'credential'; readonly id: string; readonly userId: string | undefined }
  /**
   * Something about a user changed (roles, sign-out-all): their credentials are re-read, or, with
   * `ended`, kept in memory to be refused by `refusal` (also while the store is away).
   */
  | { readonly kind: 'user'; readonly userId: string; readonly ended: boolean }
  /**
   * One credential changed but lives on (a re-authentication on a session: its amr and
   * auth_time): dropped from memory and the shared copy, so the next request re-reads it.
   */
  | { readonly kind: 'changed'; readonly id: string };

/**
 * Why a cached credential is refused on a request: `'expired'` drops it from memory only;
 * `'ended'` (revoked, or gone for good) also drops the shared copy and remembers the hash as
 * unknown, so it is refused from memory from then on, even while the store is away.
 * `'disabled'` (its user is disabled, issue 18) keeps it in memory, refused, until it is re-read
 * (after `session.cacheTtlMs`, or at once on a `user` event such as the enable): never
 * remembered as unknown, since it works again once the user is enabled.
 */
export type Refusal = 'expired' | 'ended' | 'disabled';

/** What the adapters are handed by their cache (they keep no state of their own). */
export type CredentialDeps = Pick<Deps, 'config' | 'stores'>;

/**
 * What one kind of credential (session cookie, API token; next client credentials, federated
 * ones) tells the CredentialCache: a table of constants and functions, no state. Everything
 * else (LRU, unknown-credential memory, indexes by id and user, in-flight sharing, epoch, hot
 * copy, stale fallback, touch throttling, revocation drops) is the cache's and the same for
 * every kind.
 */
export interface CredentialAdapter<E extends CredentialEntry, R> {
  /** What it is called in log lines ('session', 'API token'). */
  readonly noun: string;
  /** Key prefix of its hot copy in the shared HotCache (`'s:'`, `'k:'`); the key is prefix + tokenHash. */
  readonly hotPrefix: string;
  /** The store named in a StoreUnavailableError (503) when it cannot answer and nothing is cached. */
  readonly store: string;
  /** Degraded decisions (metrics), DESIGN §4: served from memory, from the hot copy, refused (503). */
  readonly degraded: { readonly fromMemory: DegradedReason; readonly fromHotCopy: DegradedReason; readonly unavailable: DegradedReason };
  /** The error for an unknown, expired or revoked credential (a new one each time). */
  refuse(): GatehouseError;
  /** Cheap checks of the presented secret after a memory miss, before any hot-copy or store read (throws to refuse). */
  checkBeforeRead?(secret: string): void;
  /** One store read of the credential and its user (`getWithUser`); null when the store does not know it. */
  read(deps: CredentialDeps, tokenHash: string): Promise<R | null>;
  /** The entry for what the store answered, read at `now`; null when it does not count (expired, another hash). */
  fromStore(tokenHash: string, found: R, now: number): E | null;
  /** The hot copy of a fresh store read (JSON-safe; `w` as given). */
  toHot(found: R, entry: E, w: number): HotEnvelope;
  /** How long its hot copy may live (ms; not beyond the credential's own expiry). */
  hotTtlMs(entry: E, now: number): number;
  /** The entry for a hot copy, or null when the copy is malformed or belongs to another hash (never trusted blindly). */
  fromHot(value: HotEnvelope, tokenHash: string, loadedAt: number): E | null;
  /** Keeps what must survive a re-read of the same credential (e.g. the touch throttle) from `from` on `to`. */
  carry?(from: E, to: E): void;
  /** The id revocation events name it by (sid, API token id). */
  idOf(entry: E): string;
  /** What `event` means to this kind; null: nothing. */
  match(event: RevocationEvent): RevocationMatch | null;
  /** Checked on every request, hits included (keep it allocation-free): expired, ended, or undefined when valid. */
  refusal(entry: E, now: number, revocations: RevocationSet): Refusal | undefined;
  /** When its use was last recorded (clock ms); a request at least `session.touchIntervalSec` later records it again. */
  lastTouch(entry: E): number;
  /** Records a use: updates the entry at once and returns the store write (not awaited). */
  touch(deps: CredentialDeps, entry: E, now: number): Promise<void>;
}

function isHotEnvelope(v: unknown): v is HotEnvelope {
  return typeof v === 'object' && v !== null && (v as Partial<HotEnvelope>).v === 1 && typeof (v as Partial<HotEnvelope>).w === 'number';
}

/**
 * One credential cache: `hashSecret(secret)` -> a small LRU of entries in front of the shared
 * hot copy (`deps.hotCache`: Redis in scale-out, none embedded) in front of the stores.
 *
 * A memory hit makes no network call and allocates nothing. On a miss (or a stale entry) the hot
 * copy is asked first, once the revocation set is warm (it is what refuses a credential ended
 * within the hot copy's lifetime, so correctness never depends on Redis deletes): an entry read
 * from the store less than `session.cacheTtlMs` ago by any instance is used as is; otherwise the
 * store is read (one `getWithUser`, shared by every request waiting for the same hash) and the
 * hot copy rewritten. While the store is away, the stale memory entry or an older hot copy is
 * served (DESIGN §4), and the store asked again each second; with neither, 503.
 *
 * Hashes the store did not know are remembered (UNKNOWN_CREDENTIALS_MAX) and refused without a
 * read. The revocation feed drops entries at once (`adapter.match`); a credential it ended stays
 * in memory to be refused by `adapter.refusal` (401 from memory, also while the store is away),
 * and every event bumps an epoch, so a read that straddles one is used once, not cached. Uses are
 * recorded at most once per `session.touchIntervalSec`, fire-and-forget.
 */
export class CredentialCache<E extends CredentialEntry, R> {
  private readonly cache: LRUCache<string, E>;
  /** Hashes of secrets the store did not know (or that ended): refused without a store read. */
  private readonly unknown = new LRUCache<string, true>({ max: UNKNOWN_CREDENTIALS_MAX });
  /** Credential id (`adapter.idOf`) -> tokenHash, for revocations by id. */
  private readonly byId = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<E | null>>();
  /** Bumped by every revocation event that concerns this kind: a read that straddles one is used once, not cached. */
  private epoch = 0;
  private readonly unsubscribe: () => void;
  private readonly ttlMs: number;
  private readonly touchMs: number;
  /** The shared hot copy; undefined when there is none (embedded default: nothing changes). */
  private readonly hot: HotCache | undefined;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'clock' | 'logger' | 'hotCache' | 'stores'>,
    private readonly revocations: RevocationSet,
    private readonly adapter: CredentialAdapter<E, R>,
    /** Told of every decision taken in a degraded mode (metrics). */
    private readonly degraded: DegradedReporter = () => undefined,
    /** Called with the id (`adapter.idOf`) of a credential that leaves the cache or is revoked (cached passports go with it). */
    private readonly onDrop?: (id: string) => void,
  ) {
    this.hot = deps.hotCache !== undefined && deps.hotCache.kind !== 'none' ? deps.hotCache : undefined;
    const s = deps.config.session;
    this.ttlMs = s.cacheTtlMs;
    this.touchMs = s.touchIntervalSec * 1000;
    this.cache = new LRUCache<string, E>({
      max: Math.max(1, s.cacheMax),
      dispose: (entry, key, reason) => {
        if (reason !== 'set') this.unindex(entry, key);
      },
    });
    this.unsubscribe = revocations.onEvent((event) => this.onRevocation(event));
  }

  /** The entry for the secret whose hash is `tokenHash`: synchronously on a fresh memory hit; throws `adapter.refuse()` to refuse. */
  get(tokenHash: string, secret: string): E | Promise<E> {
    const now = this.deps.clock.now();
    const entry = this.cache.get(tokenHash);
    // Hot path: no store call, no allocation.
    if (entry !== undefined && now - entry.loadedAt < this.ttlMs) return this.accept(entry, now);
    this.adapter.checkBeforeRead?.(secret);
    if (entry === undefined && this.unknown.has(tokenHash)) throw this.adapter.refuse();
    return this.load(tokenHash, entry);
  }

  close(): void {
    this.unsubscribe();
    this.cache.clear();
    this.unknown.clear();
  }

  private accept(entry: E, now: number): E {
    const refusal = this.adapter.refusal(entry, now, this.revocations);
    if (refusal === 'disabled') throw this.adapter.refuse();
    if (refusal !== undefined) {
      this.cache.delete(entry.tokenHash);
      if (refusal === 'ended') {
        this.hot?.delete(this.adapter.hotPrefix + entry.tokenHash);
        // Never valid again: refused from memory from now on, even while the store is away
        // (where a re-read would answer 503, not 401).
        this.unknown.set(entry.tokenHash, true);
      }
      throw this.adapter.refuse();
    }
    if (now - this.adapter.lastTouch(entry) >= this.touchMs) this.touch(entry, now);
    return entry;
  }

  private async load(tokenHash: string, stale: E | undefined): Promise<E> {
    // Concurrent requests of one cold credential share one store read.
    let pending = this.inflight.get(tokenHash);
    if (pending === undefined) {
      pending = this.read(tokenHash, stale);
      this.inflight.set(tokenHash, pending);
      const done = () => this.inflight.delete(tokenHash);
      pending.then(done, done);
    }
    const entry = await pending;
    if (entry === null) throw this.adapter.refuse();
    return this.accept(entry, this.deps.clock.now());
  }

  private async read(tokenHash: string, stale: E | undefined): Promise<E | null> {
    const a = this.adapter;
    const epoch = this.epoch;
    // The shared hot copy, only once the revocation set is warm (it is what refuses a
    // credential whose hot copy escaped deletion).
    let hotEntry: E | undefined;
    if (this.hot !== undefined && this.revocations.ready) {
      const value = await this.hot.get(a.hotPrefix + tokenHash);
      if (isHotEnvelope(value)) {
        const now = this.deps.clock.now();
        hotEntry = a.fromHot(value, tokenHash, Math.min(value.w, now)) ?? undefined;
        if (hotEntry !== undefined) {
          if (stale !== undefined) a.carry?.(stale, hotEntry);
          if (now - hotEntry.loadedAt < this.ttlMs) {
            // Read from the store by some instance moments ago: as good as our own read.
            if (epoch === this.epoch) this.remember(hotEntry);
            return hotEntry;
          }
        }
      }
    }
    let found: R | null;
    try {
      found = await a.read(this.deps, tokenHash);
    } catch (err) {
      const now = this.deps.clock.now();
      if (stale !== undefined && this.cache.peek(tokenHash) === stale) {
        // DESIGN §4: a cached credential keeps working while its store is away; revocations
        // still arrive through the feed.
        logStoreFailure(this.deps.logger, err, `${a.noun} store unavailable; serving the cached ${a.noun}`);
        this.degraded(a.degraded.fromMemory);
        stale.loadedAt = now - this.ttlMs + STALE_RETRY_MS;
        return stale;
      }
      if (hotEntry !== undefined) {
        logStoreFailure(this.deps.logger, err, `${a.noun} store unavailable; serving the ${a.noun} from the shared hot copy`);
        this.degraded(a.degraded.fromHotCopy);
        // Kept in memory so the next second's requests neither wait for the store nor ask Redis.
        hotEntry.loadedAt = now - this.ttlMs + STALE_RETRY_MS;
        if (epoch === this.epoch) this.remember(hotEntry);
        return hotEntry;
      }
      this.degraded(a.degraded.unavailable);
      throw err instanceof GatehouseError ? err : new StoreUnavailableError(a.store, err);
    }
    const now = this.deps.clock.now();
    const entry = found === null ? null : a.fromStore(tokenHash, found, now);
    if (found === null || entry === null) {
      this.cache.delete(tokenHash);
      if (hotEntry !== undefined) this.hot?.delete(a.hotPrefix + tokenHash);
      this.unknown.set(tokenHash, true);
      return null;
    }
    const previous = this.cache.peek(tokenHash);
    if (previous !== undefined) a.carry?.(previous, entry);
    if (epoch === this.epoch) {
      this.remember(entry);
      if (this.hot !== undefined) {
        const ttl = a.hotTtlMs(entry, now);
        // Nothing to share (a disabled user's credential): an older copy must not outlive it either.
        if (ttl >= 1) this.hot.set(a.hotPrefix + tokenHash, a.toHot(found, entry, now), ttl);
        else this.hot.delete(a.hotPrefix + tokenHash);
      }
    }
    return entry;
  }

  private remember(entry: E): void {
    const tokenHash = entry.tokenHash;
    this.cache.set(tokenHash, entry);
    this.byId.set(this.adapter.idOf(entry), tokenHash);
    let set = this.byUser.get(entry.user.id);
    if (set === undefined) this.byUser.set(entry.user.id, (set = new Set()));
    set.add(tokenHash);
  }

  /** Throttled: the adapter updates the cached copy now; the store write runs in the background. */
  private touch(entry: E, now: number): void {
    try {
      this.adapter.touch(this.deps, entry, now).catch(this.onTouchError);
    } catch (err) {
      this.onTouchError(err);
    }
  }

  private readonly onTouchError = (err: unknown): void => {
    logStoreFailure(this.deps.logger, err, `could not record ${this.adapter.noun} use; will retry on a later request`);
  };

  private onRevocation(event: RevocationEvent): void {
    const m = this.adapter.match(event);
    if (m === null) return;
    this.epoch++;
    if (m.kind === 'credential') {
      // The RevocationSet has recorded it already. The cached copy stays, for the next request
      // to be refused by accept() (401 from memory, also while the store is away).
      const tokenHash = this.byId.get(m.id);
      // Correctness does not depend on it (the revocation set refuses the id), but the shared
      // copy of an ended credential should not linger. Not when a pending revocation names
      // another user than the credential's (someone naming an id they guessed while the store
      // was away): other gateways may need that copy to serve its owner until the store is back.
      if (tokenHash !== undefined && (m.userId === undefined || this.cache.peek(tokenHash)?.user.id === m.userId)) {
        this.hot?.delete(this.adapter.hotPrefix + tokenHash);
      }
      this.onDrop?.(m.id);
    } else if (m.kind === 'changed') {
      const tokenHash = this.byId.get(m.id);
      if (tokenHash !== undefined) {
        // Deleting it unindexes it and drops its passports (dispose -> onDrop).
        this.cache.delete(tokenHash);
        this.hot?.delete(this.adapter.hotPrefix + tokenHash);
      }
    } else {
      const set = this.byUser.get(m.userId);
      if (set !== undefined) {
        for (const tokenHash of [...set]) {
          // Credentials ended by this event stay cached to be refused (see above); the rest are
          // re-read (roles may have changed with it).
          if (!m.ended) this.cache.delete(tokenHash);
          this.hot?.delete(this.adapter.hotPrefix + tokenHash);
        }
      }
    }
  }

  private unindex(entry: E, tokenHash: string): void {
    const id = this.adapter.idOf(entry);
    if (this.byId.get(id) === tokenHash) this.byId.delete(id);
    const set = this.byUser.get(entry.user.id);
    if (set !== undefined) {
      set.delete(tokenHash);
      if (set.size === 0) this.byUser.delete(entry.user.id);
    }
    this.onDrop?.(id);
  }
}
