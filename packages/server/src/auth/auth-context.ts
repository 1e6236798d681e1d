import type { Deps } from '../context.js';
import { createPasswordHasher, type PasswordHasher } from '../crypto/password-hasher.js';
import { randomSecret } from '../crypto/secrets.js';
import { normalizePassword } from './policy/password.js';

/** Per-Deps state of the auth module: one hasher (one concurrency cap) and one dummy hash. */
export interface AuthContext {
  hasher: PasswordHasher;
  /** argon2id hash of a random secret, verified when the username is unknown (same time). */
  dummyHash: Promise<string>;
}

const contexts = new WeakMap<Deps, AuthContext>();

export function authContextOf(deps: Deps): AuthContext {
  let ctx = contexts.get(deps);
  if (!ctx) {
    const hasher = createPasswordHasher({ maxConcurrent: deps.config.password.maxConcurrentHashes, nice: deps.config.password.hashNice });
    const dummyHash = hasher.hash(randomSecret());
    // Avoid an unhandled rejection if nobody awaits it yet; awaiting callers still see the error.
    dummyHash.catch(() => undefined);
    ctx = { hasher, dummyHash };
    contexts.set(deps, ctx);
  }
  return ctx;
}

export async function hashPassword(deps: Deps, password: string): Promise<string> {
  return authContextOf(deps).hasher.hash(normalizePassword(password));
}

/**
 * Verifies a password against a user's hash, or against the dummy hash when there is no user,
 * so an unknown username costs the same time as a wrong password. Always false without a user.
 */
export async function verifyPassword(deps: Deps, passwordHash: string | null, password: string): Promise<boolean> {
  const ctx = authContextOf(deps);
  const target = passwordHash ?? (await ctx.dummyHash);
  const ok = await ctx.hasher.verify(target, normalizePassword(password));
  return passwordHash !== null && ok;
}
