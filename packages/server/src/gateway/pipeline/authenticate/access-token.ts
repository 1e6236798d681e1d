import { verifyAccessToken, type AccessTokenClaims } from '../../../auth/tokens/access-token.js';
import type { Deps } from '../../../context.js';
import { GatehouseError } from '../../../errors/index.js';
import type { RevocationSet } from '../../revocation-set.js';
import { invalidToken } from './errors.js';
import type { Identity, IdentityUser } from './types.js';

/** Compact JWS: three base64url segments (the signature may be empty; the verifier refuses that). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Far above any access token we mint; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 8 * 1024;
/** Most verified access tokens kept (each ~1 KiB with its identity). */
const MAX_CACHED = 50_000;

/** A verified access token: the Identity of every request that carries it (built once per token). */
export class AccessTokenIdentity implements Identity {
  readonly auth = 'access_token' as const;
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

  constructor(claims: AccessTokenClaims) {
    this.user = { id: claims.sub, username: claims.username, roles: [...claims.roles] };
    this.sid = claims.sid;
    this.did = claims.did;
    this.scopes = new Set(claims.scope.split(' ').filter((s) => s !== ''));
    this.cacheKey = `at\n${claims.sid}\n${[...this.scopes].join(' ')}`;
    this.stamp = `${claims.sub}\n${claims.did}\n${claims.username}\n${claims.roles.join(',')}`;
    this.jti = claims.jti;
    this.iat = claims.iat;
    this.expMs = claims.exp * 1000;
  }
}

/**
 * Access tokens (`typ: at+jwt`, EdDSA, our keys) verified locally with `verifyAccessToken`, then
 * checked against the in-memory revocation set on every request. A verified token is remembered
 * until its `exp`, so a repeated token costs a Map lookup, not a signature check; revocation is
 * still checked every time. No store call, ever.
 */
export class AccessTokenVerifier {
  private readonly cache = new Map<string, AccessTokenIdentity>();
  private readonly inflight = new Map<string, Promise<AccessTokenIdentity>>();
  private readonly max: number;

  constructor(
    private readonly deps: Pick<Deps, 'config' | 'keyring' | 'clock'>,
    private readonly revocations: RevocationSet,
    max = MAX_CACHED,
  ) {
    this.max = Math.max(1, max);
  }

  verify(token: string): AccessTokenIdentity | Promise<AccessTokenIdentity> {
    const now = this.deps.clock.now();
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      if (now < hit.expMs) return this.check(hit, now);
      this.cache.delete(token);
      throw invalidToken();
    }
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalidToken();
    return this.verifyCold(token);
  }

  clear(): void {
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }

  private check(identity: AccessTokenIdentity, now: number): AccessTokenIdentity {
    if (this.revocations.accessTokenRevoked(identity.sid, identity.user.id, identity.iat, identity.jti, now)) throw invalidToken();
    return identity;
  }

  private async verifyCold(token: string): Promise<AccessTokenIdentity> {
    // A burst of requests with one new token verifies it once.
    let pending = this.inflight.get(token);
    if (pending === undefined) {
      pending = this.load(token);
      this.inflight.set(token, pending);
      const done = () => this.inflight.delete(token);
      pending.then(done, done);
    }
    return this.check(await pending, this.deps.clock.now());
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
    const identity = new AccessTokenIdentity(claims);
    if (this.deps.clock.now() < identity.expMs) {
      if (this.cache.size >= this.max) {
        const oldest = this.cache.keys().next();
        if (oldest.done !== true) this.cache.delete(oldest.value);
      }
      this.cache.set(token, identity);
    }
    return identity;
  }
}
