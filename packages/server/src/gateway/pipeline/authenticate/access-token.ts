import { ACCESS_TOKEN_CLIENT_ID, verifyAccessToken, type AccessTokenClaims } from '../../../credentials/access-token.js';
import type { Deps } from '../../../context.js';
import { GatehouseError } from '../../../errors/index.js';
import type { RevocationSet } from '../../revocation-set.js';
import { invalidToken } from './errors.js';
import { tokenKey, VerifiedTokens } from './verified-tokens.js';
import type { CurrentUsers, UserFacts } from './current-user.js';
import type { Identity, IdentityUser } from './types.js';

/** Most verified access tokens kept (each ~1 KiB with its identity). */
const MAX_CACHED = 50_000;

/** A verified access token: the Identity of every request that carries it (built once per token and user version). */
export class AccessTokenIdentity implements Identity {
  readonly auth = 'access_token' as const;
  /** The user as the store has it now (`facts`), or as the token says until the store has answered. */
  readonly user: IdentityUser;
  readonly sid: string;
  readonly did: string;
  readonly scopes: ReadonlySet<string>;
  readonly csrfToken = undefined;
  /**
   * Passports are shared by the access tokens of one session with the same scope (a refreshed
   * token reuses the passport); a token with other scopes never gets another's passport.
   */
  readonly cacheKey: string;
  readonly stamp: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
  /** Epoch ms; the cached verification is used until then. */
  readonly expMs: number;
  /**
   * The registered client the token's session was granted to (device flow), which a client
   * revocation concerns; null for the first-party client. Not `clientId`: that names the client a
   * client-credentials token speaks for, and a user's token speaks for its user.
   */
  readonly grantedTo: string | null;
  readonly amr: readonly string[] | undefined;
  /** Epoch seconds. */
  readonly authTime: number | undefined;

  constructor(
    readonly claims: AccessTokenClaims,
    /** The current user this identity was built with (current-user.ts); undefined: the token's claims. */
    readonly facts?: UserFacts,
  ) {
    const user = facts?.user ?? { id: claims.sub, username: claims.username, roles: claims.roles };
    this.user = { id: user.id, username: user.username, roles: [...user.roles] };
    this.sid = claims.sid;
    this.did = claims.did;
    this.scopes = new Set(claims.scope.split(' ').filter((s) => s !== ''));
    this.cacheKey = `at\n${claims.sid}\n${[...this.scopes].join(' ')}`;
    // Tokens minted before issue 17 carry neither: no amr, so no route that asks for one takes them.
    this.amr = claims.amr;
    this.authTime = claims.auth_time;
    this.stamp = `${this.user.id}\n${claims.did}\n${this.user.username}\n${this.user.roles.join(',')}\n${claims.amr?.join(' ') ?? ''}\n${claims.auth_time ?? ''}`;
    this.jti = claims.jti;
    this.iat = claims.iat;
    this.expMs = claims.exp * 1000;
    this.grantedTo = claims.client_id === ACCESS_TOKEN_CLIENT_ID ? null : claims.client_id;
  }
}

/**
 * Access tokens (`typ: at+jwt`, EdDSA, our keys) verified locally with `verifyAccessToken`, then
 * checked against the in-memory revocation set on every request. A verified token is remembered
 * until its `exp`, so a repeated token costs a Map lookup, not a signature check; revocation is
 * still checked every time. The user's username and roles come from `CurrentUsers` (read at most
 * `session.cacheTtlMs` ago, like a cookie's), not from the token, so a role removed reaches
 * access tokens within that bound: steady state, no store call; one read per user per TTL.
 */
export class AccessTokenVerifier {
  private readonly tokens: VerifiedTokens<AccessTokenIdentity>;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
    private readonly revocations: RevocationSet,
    /** Where the user's current roles come from. */
    private readonly users: CurrentUsers,
    max = MAX_CACHED,
  ) {
    this.tokens = new VerifiedTokens(max);
  }

  /**
   * The bearer hot path: a token verified here before, checked as `verify` checks it (expiry,
   * revocation, current user); undefined when it is not remembered (then `verify`).
   */
  verifyKnown(token: string, key = tokenKey(token)): AccessTokenIdentity | Promise<AccessTokenIdentity> | undefined {
    const now = this.deps.clock.now();
    const hit = this.tokens.live(token, now, key);
    return hit === undefined ? undefined : this.current(token, this.check(hit, now), now);
  }

  verify(token: string): AccessTokenIdentity | Promise<AccessTokenIdentity> {
    const now = this.deps.clock.now();
    const hit = this.tokens.hit(token, now);
    if (hit !== undefined) return this.current(token, this.check(hit, now), now);
    return this.verifyCold(token);
  }

  /** The identity with the user's current facts: as is when they are fresh and unchanged (the hot path), else rebuilt. */
  private current(token: string, identity: AccessTokenIdentity, now: number): AccessTokenIdentity | Promise<AccessTokenIdentity> {
    // Hot path: the facts this identity was built with are still fresh (no lookup at all).
    const own = identity.facts;
    if (own !== undefined && now - own.loadedAt < this.users.ttlMs) return identity;
    const facts = this.users.fresh(identity.user.id, now);
    if (facts !== undefined) return this.withFacts(token, identity, facts);
    return this.users.load(identity.claims.sub, identity.user).then((f) => this.withFacts(token, identity, f));
  }

  private withFacts(token: string, identity: AccessTokenIdentity, facts: UserFacts): AccessTokenIdentity {
    if (identity.facts === facts) return identity;
    // The account no longer exists: nothing it held stands.
    if (facts.user === null) {
      this.tokens.forget(token);
      throw invalidToken();
    }
    const next = new AccessTokenIdentity(identity.claims, facts);
    this.tokens.replace(token, identity, next);
    return next;
  }

  clear(): void {
    this.tokens.clear();
  }

  get size(): number {
    return this.tokens.size;
  }

  private check(identity: AccessTokenIdentity, now: number): AccessTokenIdentity {
    if (this.revocations.accessTokenRevoked(identity.sid, identity.user.id, identity.iat, identity.jti, now, identity.grantedTo)) throw invalidToken();
    return identity;
  }

  private async verifyCold(token: string): Promise<AccessTokenIdentity> {
    // A burst of requests with one new token verifies it once.
    const pending = this.tokens.once(token, (t) => this.load(t), () => this.deps.clock.now());
    const now = this.deps.clock.now();
    return this.current(token, this.check(await pending, now), now);
  }

  private async load(token: string): Promise<AccessTokenIdentity> {
    let claims: AccessTokenClaims;
    try {
      claims = await verifyAccessToken(this.deps, token);
    } catch (err) {
      // Same answer for every reason (bad signature, alg, typ, aud, iss, kid, expiry).
      if (err instanceof GatehouseError && err.code === 'invalid_token') throw invalidToken();
      throw err;
    }
    return new AccessTokenIdentity(claims);
  }
}
