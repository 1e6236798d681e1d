import type { AuthInput, Authenticator, Identity } from './types.js';

/**
 * Runs the authenticators in order; the first that does not answer "not mine" decides
 * (with an Identity, or by throwing). Synchronous answers (cache hits) stay synchronous.
 */
export function runChain(chain: readonly Authenticator[], input: AuthInput): Identity | null | Promise<Identity | null> {
  for (let i = 0; i < chain.length; i++) {
    const r = chain[i]!.authenticate(input);
    if (r === null) continue;
    if (r instanceof Promise) return i + 1 === chain.length ? r : r.then((id) => id ?? runChain(chain.slice(i + 1), input));
    return r;
  }
  return null;
}
