import { invalidToken } from './errors.js';

/** Compact JWS: three base64url segments (the signature may be empty; the verifiers refuse that). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Far above any token we mint; bounds the work spent on garbage. */
const MAX_TOKEN_LENGTH = 8 * 1024;

/**
 * The verify-once memory of the JWT kinds the gateway checks itself (user access tokens,
 * access-token.ts; client tokens, client-token.ts): a verified token's identity kept until its
 * `exp` (so a repeated token costs a Map lookup, not a signature check), one verification shared
 * by a burst of requests with the same new token, and a bound on what is kept (oldest first out).
 * What is asked on every request (revocation, current user or client) stays with each verifier.
 */
export class VerifiedTokens<I extends { readonly expMs: number }> {
  private readonly cache = new Map<string, I>();
  private readonly inflight = new Map<string, Promise<I>>();
  private readonly max: number;

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  /**
   * The identity `token` was verified as, while unexpired; undefined when it was not verified
   * here. Throws invalid_token for a remembered token past its `exp`, and for anything that is
   * not a compact JWS of a sane length (no verification is spent on it).
   */
  hit(token: string, now: number): I | undefined {
    const hit = this.cache.get(token);
    if (hit !== undefined) {
      if (now < hit.expMs) return hit;
      this.cache.delete(token);
      throw invalidToken();
    }
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw invalidToken();
    return undefined;
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
    if (this.cache.get(token) === previous) this.cache.set(token, next);
  }

  forget(token: string): void {
    this.cache.delete(token);
  }

  has(token: string): boolean {
    return this.cache.size !== 0 && this.cache.has(token);
  }

  get size(): number {
    return this.cache.size;
  }

  clear(): void {
    this.cache.clear();
  }

  private remember(token: string, identity: I): void {
    if (this.cache.size >= this.max) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(token, identity);
  }
}
