import type { Deps } from '../context.js';
import { GatehouseError } from '../errors/index.js';
import type { RevocationEvent } from '../stores/types.js';
import type { Exchange } from './exchange.js';
import { AccessTokenIdentity } from './pipeline/authenticate/access-token.js';
import { ApiTokenEntry } from './pipeline/authenticate/api-token.js';
import { runChain } from './pipeline/authenticate/chain.js';
import { ClientIdentity } from './pipeline/authenticate/client-token.js';
import { SessionEntry } from './pipeline/authenticate/session-cookie.js';
import type { AuthInput, Authenticator, Identity } from './pipeline/authenticate/types.js';
import { authorize } from './pipeline/authorize/authorize.js';
import type { RevocationSet } from './revocation-set.js';
import type { CompiledRoute } from './routing.js';

/**
 * Why a live connection is ended: its credential was revoked (or no longer passes the route's
 * policy), it expired, or the gateway is stopping (graceful drain).
 */
export type LiveEnd = 'revoked' | 'expired' | 'going_away';

/** What can be ended: a proxied WebSocket (close frame 1008/1001) or a streaming answer (ended or cut). */
export interface LiveTarget {
  endLive(why: LiveEnd): void;
}

/** How often expiry is looked at (ms): a coarse wheel, one interval for every connection. */
const WHEEL_MS = 1_000;
/** Longest delay a re-check of a still-valid credential waits before looking at it again (ms). */
const MIN_RECHECK_MS = 1_000;

/** One open connection, as the registry knows it. */
export class LiveConnection {
  /** Index keys of its credential (session id, token id, jti, user id, client id). */
  keys: readonly string[];
  /** When its credential expires (clock ms); re-checked then (a sliding session may have moved). */
  expiresAt: number;
  /** A re-check is running; `again`: another event came meanwhile. */
  checking = false;
  again = false;
  ended = false;

  constructor(
    public identity: Identity | null,
    /** The credential as sent (the cookie or Authorization value), to authenticate it again. */
    readonly input: AuthInput,
    readonly route: CompiledRoute,
    readonly target: LiveTarget,
  ) {
    this.keys = identity === null ? [] : keysOf(identity);
    this.expiresAt = identity === null ? Number.POSITIVE_INFINITY : expiryOf(identity);
  }
}

/** Index keys of a credential: what revocation events name. */
function keysOf(identity: Identity): string[] {
  const keys = [`u\n${identity.user.id}`];
  if (identity.sid !== undefined) keys.push(`s\n${identity.sid}`);
  if (identity instanceof AccessTokenIdentity) {
    keys.push(`j\n${identity.jti}`);
    if (identity.grantedTo !== null) keys.push(`c\n${identity.grantedTo}`);
  } else if (identity instanceof ClientIdentity) keys.push(`j\n${identity.jti}`, `c\n${identity.clientId}`);
  else if (identity instanceof ApiTokenEntry) keys.push(`k\n${identity.tokenId}`);
  return keys;
}

/** The index key a revocation event names. */
function keyOfEvent(event: RevocationEvent): string {
  switch (event.type) {
    case 'session':
      return `s\n${event.sid}`;
    case 'user':
      return `u\n${event.userId}`;
    case 'access_token':
      return `j\n${event.jti}`;
    case 'api_token':
      return `k\n${event.tokenId}`;
    case 'client':
      return `c\n${event.clientId}`;
    case 'session_auth':
      // Re-checked as after any change to its session (a route's mfa or maxAuthAgeSec still holds).
      return `s\n${event.sid}`;
  }
}

/** When a credential expires (clock ms); a session's sliding expiry as cached now. */
function expiryOf(identity: Identity): number {
  if (identity instanceof SessionEntry) return Math.min(identity.session.expiresAt, identity.session.absoluteExpiresAt);
  if (identity instanceof AccessTokenIdentity || identity instanceof ClientIdentity) return identity.expMs;
  if (identity instanceof ApiTokenEntry) return identity.expiresAt ?? Number.POSITIVE_INFINITY;
  return Number.POSITIVE_INFINITY;
}

/**
 * Live revocation of long-lived connections (issue 16): every proxied WebSocket and every
 * streaming answer (server-sent events, a body without Content-Length) is registered here while
 * it is open, indexed by what a revocation event names (session id, user id, access-token `jti`,
 * API token id, client id). The revocation set hands each event over after recording it and
 * after the credential caches dropped what it concerns, so a connection it names is
 * authenticated again, exactly as its next request would be (the same chain, then the route's
 * roles and scopes): refused, it is ended. No scan: an event finds its connections by key.
 * Expiry is a coarse wheel (one interval for all, every second, only while any is open): a
 * connection whose credential's expiry passed is authenticated again (a sliding session touched
 * by other requests lives on). Ordinary requests never come here.
 */
export class LiveConnections {
  private readonly byKey = new Map<string, Set<LiveConnection>>();
  private readonly all = new Set<LiveConnection>();
  private readonly unsubscribe: () => void;
  private wheel: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: Pick<Deps, 'clock' | 'logger'>,
    private readonly chain: readonly Authenticator[],
    revocations: Pick<RevocationSet, 'onEvent'>,
  ) {
    this.unsubscribe = revocations.onEvent((event) => this.onEvent(event));
  }

  /** Open connections now (tests, metrics). */
  get size(): number {
    return this.all.size;
  }

  /** Registers an open connection of `ex` (its identity may be null: an `auth: none` route, ended only by a drain). */
  add(ex: Exchange, target: LiveTarget): LiveConnection {
    const live = new LiveConnection(ex.identity, { authorization: ex.authorization, sessionCookie: ex.sessionCookie }, ex.route, target);
    this.all.add(live);
    for (const k of live.keys) {
      let set = this.byKey.get(k);
      if (set === undefined) this.byKey.set(k, (set = new Set()));
      set.add(live);
    }
    if (this.wheel === undefined && live.expiresAt !== Number.POSITIVE_INFINITY) {
      this.wheel = setInterval(() => this.tick(), WHEEL_MS);
      this.wheel.unref();
    }
    return live;
  }

  /** Forgets a connection that closed. */
  remove(live: LiveConnection): void {
    live.ended = true;
    if (!this.all.delete(live)) return;
    for (const k of live.keys) {
      const set = this.byKey.get(k);
      if (set === undefined) continue;
      set.delete(live);
      if (set.size === 0) this.byKey.delete(k);
    }
    if (this.all.size === 0 && this.wheel !== undefined) {
      clearInterval(this.wheel);
      this.wheel = undefined;
    }
  }

  /** The wheel: connections whose credential's expiry has passed are authenticated again. */
  tick(): void {
    const now = this.deps.clock.now();
    for (const live of this.all) if (live.expiresAt <= now) this.recheck(live, 'expired');
  }

  /** Graceful stop: every open connection is told the gateway is going away. */
  goingAway(): void {
    for (const live of [...this.all]) {
      this.remove(live);
      live.target.endLive('going_away');
    }
  }

  close(): void {
    this.unsubscribe();
    if (this.wheel !== undefined) clearInterval(this.wheel);
    this.wheel = undefined;
  }

  private onEvent(event: RevocationEvent): void {
    const set = this.byKey.get(keyOfEvent(event));
    if (set === undefined) return;
    for (const live of [...set]) this.recheck(live, 'revoked');
  }

  /** Authenticates the connection's credential again and applies the route's policy; ends it when refused. */
  private recheck(live: LiveConnection, why: 'revoked' | 'expired'): void {
    if (live.ended) return;
    if (live.checking) {
      live.again = true;
      return;
    }
    live.checking = true;
    let r: Identity | null | Promise<Identity | null>;
    try {
      r = runChain(this.chain, live.input);
    } catch (err) {
      this.decided(live, why, null, err);
      return;
    }
    if (r instanceof Promise) {
      r.then(
        (identity) => this.decided(live, why, identity, undefined),
        (err: unknown) => this.decided(live, why, null, err),
      );
    } else this.decided(live, why, r, undefined);
  }

  private decided(live: LiveConnection, why: 'revoked' | 'expired', identity: Identity | null, err: unknown): void {
    live.checking = false;
    if (live.ended) return;
    let refused = err !== undefined;
    if (err instanceof GatehouseError && err.status >= 500) {
      // A store away is no refusal (the caches serve what they hold meanwhile): look again later.
      refused = false;
      identity = live.identity;
    }
    if (!refused) {
      if (identity === null || live.identity === null || identity.user.id !== live.identity.user.id) refused = true;
      else {
        try {
          authorize(live.route, identity, 'GET', this.deps.clock);
        } catch {
          refused = true;
        }
      }
    }
    if (refused) {
      this.remove(live);
      this.deps.logger.debug({ route: live.route.label, why }, 'live connection ended: its credential no longer passes');
      live.target.endLive(why);
      return;
    }
    live.identity = identity;
    const now = this.deps.clock.now();
    live.expiresAt = Math.max(expiryOf(identity!), now + MIN_RECHECK_MS);
    if (live.again) {
      live.again = false;
      this.recheck(live, 'revoked');
    }
  }
}
