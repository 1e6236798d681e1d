import { invalidToken } from './errors.js';

/** Compact JWS: three base64url segments (the signature may be empty; the verifiers refuse that). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Far above any token we mint; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 8 * 1024;

/** A remembered token: the token itself (compared in full on every hit) and what it was verified as. */
interface Remembered<I> {
  readonly token: string;
  identity: I;
}

/**
 * The key a token is remembered by: its signature segment (the text after the last `.`; the whole
 * token when there is none). A lookup hashes ~86 characters instead of the whole JWT (~700, the
 * hashing of a new string on every request was the costliest step of a cached bearer request), and
 * the token found is then compared with the one presented in full, so a token is only ever
 * taken for one verified before if it is the same string.
 */
export function tokenKey(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

/**
 * The verify-once memory of the JWT kinds the gateway checks itself (user access tokens,
 * access-token.ts; client tokens, client-token.ts): a verified token's identity kept until its
 * `exp` (so a repeated token costs a Map lookup, not a signature check), one verification shared
 * by a burst of requests with the same new token, and a bound on what is kept (oldest first out).
 * What is asked on every request (revocation, current user or client) stays with each verifier.
 */
export class VerifiedTokens<I extends { readonly expMs: number }> {
  /** By tokenKey(token); the entry's token is the whole token, checked on every hit. */
  private readonly cache = new Map<string, Remembered<I>>();
  private readonly inflight = new Map<string, Promise<I>>();
  private readonly max: number;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /**
   * What `token` was verified as, whether or not it has expired since (the caller checks `expMs`);
   * undefined when it was not verified here (or is not remembered any more). No shape check: a
   * string equal to a verified token is well-formed. The bearer hot path: one lookup.
   */
  known(token: string, key = tokenKey(token)): I | undefined {
    if (this.cache.size === 0) return undefined;
    const e = this.cache.get(key);
    return e !== undefined && e.token === token ? e.identity : undefined;
  }

  /**
   * The identity `token` was verified as, while unexpired; undefined when it was not verified
   * here. Throws invalid_token for a remembered token past its `exp`, and for anything that is
   * not a compact JWS of a sane length (no verification is spent on it).
   */
  hit(token: string, now: number): I | undefined {
    const hit = this.live(token, now);
    if (hit === undefined && (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token))) throw invalidToken();
    return hit;
  }

  /**
   * The identity `token` was verified as, while unexpired; undefined when it was not verified
   * here; invalid_token for a remembered token past its `exp` (forgotten then). No shape check:
   * the bearer hot path of both JWT kinds (`verifyKnown`).
   */
  live(token: string, now: number, key = tokenKey(token)): I | undefined {
    const hit = this.known(token, key);
    if (hit === undefined || now < hit.expMs) return hit;
    this.forget(token);
    throw invalidToken();
  }

  /** `load(token)` once however many requests wait for it; its identity is remembered while unexpired (`now()` after it answers). */
  once(token: string, load: (token: string) => Promise<I>, now: () => number): Promise<I> {
    let pending = this.inflight.get(token);
    if (pending === undefined) {
      pending = load(token).then((identity) => {
        if (now() < identity.expMs) this.remember(token, identity);
        return identity;
      });
      this.inflight.set(token, pending);
      const done = () => this.inflight.delete(token);
      pending.then(done, done);
    }
    return pending;
  }

  /** Puts `next` in place of `previous` for `token`, if `previous` is still what is remembered. */
  replace(token: string, previous: I, next: I): void {
    const e = this.cache.get(tokenKey(token));
    if (e !== undefined && e.token === token && e.identity === previous) e.identity = next;
  }

  forget(token: string): void {
    const key = tokenKey(token);
    if (this.cache.get(key)?.token === token) this.cache.delete(key);
  }

  has(token: string): boolean {
    return this.known(token) !== undefined;
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }

  private remember(token: string, identity: I): void {
    const key = tokenKey(token);
    if (this.cache.size >= this.max && !this.cache.has(key)) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(key, { token, identity });
  }
}
