import { LRUCache } from 'lru-cache';
import { verifyClientAccessToken, type ClientAccessTokenClaims } from '../../../credentials/access-token.js';
import type { Deps } from '../../../context.js';
import { GatehouseError } from '../../../errors/index.js';
import type { RevocationSet } from '../../revocation-set.js';
import { invalidToken } from './errors.js';
import { tokenKey, VerifiedTokens } from './verified-tokens.js';
import type { DegradedReporter, Identity, IdentityUser } from './types.js';

/** Most verified client tokens kept (a service holds one at a time; a few per client and replica). */
const MAX_CACHED = 10_000;
/** While the client store is away, ask it again at most this often per client. */
const STALE_RETRY_MS = 1_000;

/**
 * A client as the store had it at `loadedAt`: `createdAt` of the client that holds the id now,
 * or null when no client does (removed).
 */
export class ClientFacts {
  constructor(
    readonly createdAt: number | null,
    /** Clock ms; fresh for `session.cacheTtlMs`. */
    public loadedAt: number,
  ) {}
}

/**
 * Whether the clients behind client tokens still exist, read at most `session.cacheTtlMs` ago
 * (the bound of every "what the store says now" check of the gateway). This is what makes
 * `gatehouse clients remove` reach a running single-node gateway, which no other process can
 * publish to; with Redis the revocation feed is faster (RevocationSet). Steady state: a field
 * compare on the identity, no store call; one read per client per TTL, shared by the requests
 * that wait for it. While the store is away the last-known answer (else: the token, whose
 * signature is ours) serves, and the store is asked again each second (DESIGN §4: bearer
 * tokens keep working through a database outage).
 */
export class CurrentClients {
  private readonly cache: LRUCache<string, ClientFacts>;
  private readonly inflight = new Map<string, Promise<ClientFacts>>();
  readonly ttlMs: number;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'clock' | 'stores' | 'logger'>,
    private readonly degraded: DegradedReporter = () => undefined,
  ) {
    this.ttlMs = deps.config.session.cacheTtlMs;
    this.cache = new LRUCache<string, ClientFacts>({ max: 10_000 });
  }

  fresh(clientId: string, now: number): ClientFacts | undefined {
    const facts = this.cache.get(clientId);
    return facts !== undefined && now - facts.loadedAt < this.ttlMs ? facts : undefined;
  }

  load(clientId: string): Promise<ClientFacts> {
    let pending = this.inflight.get(clientId);
    if (pending === undefined) {
      pending = this.read(clientId);
      this.inflight.set(clientId, pending);
      const done = () => this.inflight.delete(clientId);
      pending.then(done, done);
    }
    return pending;
  }

  private async read(clientId: string): Promise<ClientFacts> {
    try {
      const record = await this.deps.stores.clients.get(clientId);
      const now = this.deps.clock.now();
      const createdAt = record === null ? null : record.createdAt;
      const previous = this.cache.peek(clientId);
      // Unchanged: keep the same object, so identities built from it stay as they are.
      if (previous !== undefined && previous.createdAt === createdAt) {
        previous.loadedAt = now;
        return previous;
      }
      const facts = new ClientFacts(createdAt, now);
      this.cache.set(clientId, facts);
      return facts;
    } catch (err) {
      const now = this.deps.clock.now();
      const retryAt = now - this.ttlMs + STALE_RETRY_MS;
      const previous = this.cache.peek(clientId);
      this.degraded('client_token_from_memory');
      this.deps.logger.warn({ err, client_id: clientId }, 'client store unavailable; client tokens are checked against the clients last read');
      if (previous !== undefined) {
        previous.loadedAt = retryAt;
        return previous;
      }
      // Never read: the token's own word (our signature) until the store answers.
      const facts = new ClientFacts(0, retryAt);
      this.cache.set(clientId, facts);
      return facts;
    }
  }
}

/** A verified client-credentials token: the Identity of every request that carries it. */
export class ClientIdentity implements Identity {
  readonly auth = 'client' as const;
  /** The client as a passport subject: its id, no username, no roles (a client holds none). */
  readonly user: IdentityUser;
  readonly clientId: string;
  readonly sid = undefined;
  readonly did = undefined;
  readonly scopes: ReadonlySet<string>;
  readonly csrfToken = undefined;
  /** Passports are shared by the tokens of one client with the same scopes. */
  readonly cacheKey: string;
  readonly stamp: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
  /** Epoch ms. */
  readonly expMs: number;

  constructor(
    readonly claims: ClientAccessTokenClaims,
    /** The client as last read (undefined: not yet). */
    readonly facts?: ClientFacts,
  ) {
    this.clientId = claims.client_id;
    this.user = { id: claims.client_id, username: '', roles: [] };
    this.scopes = new Set(claims.scope.split(' ').filter((s) => s !== ''));
    this.cacheKey = `cl\n${claims.client_id}\n${[...this.scopes].join(' ')}`;
    this.stamp = `client\n${claims.client_id}\n${[...this.scopes].join(' ')}`;
    this.jti = claims.jti;
    this.iat = claims.iat;
    this.expMs = claims.exp * 1000;
  }
}

/**
 * Client-credentials tokens (`typ: at+jwt`, `gty: "client_credentials"`, issue 14 §3), reached
 * from the bearer authenticator's dispatch (bearer.ts). Like access tokens: verified once per
 * token (`verifyClientAccessToken`) and remembered until `exp`; the revocation set is asked on
 * every request (a removed client, a revoked `jti`), and the client's existence at most every
 * `session.cacheTtlMs` (CurrentClients). A token issued before the client that now holds its id
 * was created (removed, then added again) is refused.
 */
export class ClientTokenVerifier {
  private readonly tokens: VerifiedTokens<ClientIdentity>;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
    private readonly revocations: RevocationSet,
    private readonly clients: CurrentClients,
    max = MAX_CACHED,
  ) {
    this.tokens = new VerifiedTokens(max);
  }

  get size(): number {
    return this.tokens.size;
  }

  /**
   * The bearer hot path: a token verified here before, checked as `verify` checks it (expiry,
   * revocation, the client's existence); undefined when it is not remembered (then `verify`).
   */
  verifyKnown(token: string, key = tokenKey(token)): ClientIdentity | Promise<ClientIdentity> | undefined {
    const now = this.deps.clock.now();
    const hit = this.tokens.live(token, now, key);
    return hit === undefined ? undefined : this.current(token, this.check(hit, now), now);
  }

  verify(token: string): ClientIdentity | Promise<ClientIdentity> {
    const now = this.deps.clock.now();
    const hit = this.tokens.hit(token, now);
    if (hit !== undefined) return this.current(token, this.check(hit, now), now);
    return this.verifyCold(token);
  }

  private check(identity: ClientIdentity, now: number): ClientIdentity {
    if (this.revocations.clientTokenRevoked(identity.clientId, identity.iat, identity.jti, now)) throw invalidToken();
    return identity;
  }

  /** The identity once the client is known to exist (fresh facts: no lookup at all). */
  private current(token: string, identity: ClientIdentity, now: number): ClientIdentity | Promise<ClientIdentity> {
    const own = identity.facts;
    if (own !== undefined && now - own.loadedAt < this.clients.ttlMs) return identity;
    const facts = this.clients.fresh(identity.clientId, now);
    if (facts !== undefined) return this.withFacts(token, identity, facts);
    return this.clients.load(identity.clientId).then((f) => this.withFacts(token, identity, f));
  }

  private withFacts(token: string, identity: ClientIdentity, facts: ClientFacts): ClientIdentity {
    // Removed, or the id now names a client created after this token was issued.
    if (facts.createdAt === null || identity.iat < Math.floor(facts.createdAt / 1000)) {
      this.tokens.forget(token);
      throw invalidToken();
    }
    if (identity.facts === facts) return identity;
    const next = new ClientIdentity(identity.claims, facts);
    this.tokens.replace(token, identity, next);
    return next;
  }

  private async verifyCold(token: string): Promise<ClientIdentity> {
    const pending = this.tokens.once(token, (t) => this.load(t), () => this.deps.clock.now());
    const now = this.deps.clock.now();
    return this.current(token, this.check(await pending, now), now);
  }

  private async load(token: string): Promise<ClientIdentity> {
    let claims: ClientAccessTokenClaims;
    try {
      claims = await verifyClientAccessToken(this.deps, token);
    } catch (err) {
      if (err instanceof GatehouseError && err.code === 'invalid_token') throw invalidToken();
      throw err;
    }
    return new ClientIdentity(claims);
  }
}
