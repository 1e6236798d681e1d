import { issuerOf } from '../../../config/issuer.js';
import type { Deps } from '../../../context.js';
import { passportClaims, passportTtlSec, signPassport } from '../../../credentials/passport.js';
import type { Identity } from '../authenticate/types.js';

interface Entry {
  /** Identity.stamp it was minted for. */
  stamp: string;
  token: string | undefined;
  /** The signing in progress; concurrent requests share it. */
  pending: Promise<string> | undefined;
  /** Reused until this time (ms): exp - renewBeforeSec. */
  renewAt: number;
}

/**
 * Passport. Mints passports (`typ: passport+jwt`) and caches them per credential and audience
 * (`sid|aud`, as nested maps so the hot path builds no key string). Steady state: one map
 * lookup, no signing. A cold cache signs once however many requests arrive together.
 */
export class PassportCache {
  private readonly byKey = new Map<string, Map<string, Entry>>();
  private readonly ttlSec: number;
  private readonly renewBeforeSec: number;
  private readonly issuer: string;
  private readonly maxKeys: number;

  constructor(private readonly deps: Deps) {
    this.ttlSec = passportTtlSec(deps.config);
    this.renewBeforeSec = deps.config.passport.renewBeforeSec;
    this.issuer = issuerOf(deps.config);
    // Entries leave with their session (drop); this only bounds leftovers.
    this.maxKeys = Math.max(1024, deps.config.session.cacheMax * 2);
  }

  /** A passport for this identity and audience: the cached one, or a newly signed one. */
  get(identity: Identity, aud: string): string | Promise<string> {
    const byAud = this.byKey.get(identity.cacheKey);
    const e = byAud?.get(aud);
    if (e !== undefined && e.stamp === identity.stamp) {
      if (e.token !== undefined && this.deps.clock.now() < e.renewAt) return e.token;
      if (e.pending !== undefined) return e.pending;
    }
    return this.mint(identity, aud, byAud);
  }

  /** Forgets every passport of a credential (its session ended or left the cache). */
  drop(cacheKey: string): void {
    this.byKey.delete(cacheKey);
  }

  clear(): void {
    this.byKey.clear();
  }

  private mint(identity: Identity, aud: string, existing: Map<string, Entry> | undefined): Promise<string> {
    const key = this.deps.keyring.signingKey();
    const iat = Math.floor(this.deps.clock.now() / 1000);
    const exp = iat + this.ttlSec;
    const scope = identity.scopes === undefined ? undefined : [...identity.scopes].join(' ');
    const claims = passportClaims(this.issuer, { auth: identity.auth, user: identity.user, sid: identity.sid, did: identity.did, scope, clientId: identity.clientId, amr: identity.amr, authTime: identity.authTime }, aud, iat, exp);

    let byAud = existing;
    if (byAud === undefined) {
      if (this.byKey.size >= this.maxKeys) this.byKey.clear();
      byAud = new Map();
      this.byKey.set(identity.cacheKey, byAud);
    }
    const entry: Entry = { stamp: identity.stamp, token: undefined, pending: undefined, renewAt: (exp - this.renewBeforeSec) * 1000 };
    byAud.set(aud, entry);
    const map = byAud;
    entry.pending = signPassport(claims, key).then(
      (token) => {
        entry.token = token;
        entry.pending = undefined;
        return token;
      },
      (err: unknown) => {
        if (map.get(aud) === entry) map.delete(aud);
        throw err;
      },
    );
    return entry.pending;
  }
}
