import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { authMetricsOf } from './auth-metrics.js';
import { createPasswordHasher, HashQueueFullError, type HashLane, type HashTicket, type PasswordHasher } from '../crypto/password-hasher.js';
import { randomSecret } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import { clientIp, ipBucket } from './client-ip.js';
import { normalizePassword } from './policy/password.js';
import { retryAfterSec } from './rate-limit.js';

/** Per-Deps state of the auth module: one hasher (one concurrency cap) and one dummy hash. */
export interface AuthContext {
  hasher: PasswordHasher;
  /** argon2id hash of a random secret, verified when the username is unknown (same time). */
  dummyHash: Promise<string>;
  /** Hash admissions refused since the last `hash.busy` log line (one line a second at most). */
  busy: { refused: number; loggedAt: number };
}

const contexts = new WeakMap<Deps, AuthContext>();

export function authContextOf(deps: Deps): AuthContext {
  let ctx = contexts.get(deps);
  if (!ctx) {
    const p = deps.config.password;
    const metrics = authMetricsOf(deps);
    const hasher = createPasswordHasher({
      onWait: (lane, seconds) => metrics.hashWait.labels(lane).observe(seconds),
      maxConcurrent: p.maxConcurrentHashes,
      nice: p.hashNice,
      admission: { maxWaitMs: p.maxHashWaitMs, maxPerIp: p.maxQueuedHashesPerIp, maxPerUsername: p.maxQueuedHashesPerUsername },
    });
    metrics.watchHasher(hasher);
    const dummyHash = hasher.hash(randomSecret());
    // Avoid an unhandled rejection if nobody awaits it yet; awaiting callers still see the error.
    dummyHash.catch(() => undefined);
    ctx = { hasher, dummyHash, busy: { refused: 0, loggedAt: 0 } };
    contexts.set(deps, ctx);
  }
  return ctx;
}

/** What a request's hash is counted against: its lane, its client's address bucket, the canonical username. */
export interface HashRequest {
  lane: HashLane;
  request: FastifyRequest;
  /** Canonical username (sign-in, sign-up) or the account's (password change). */
  username: string;
}

/** 503 `busy` with Retry-After, for a hash refused at admission; logged once a second at most. */
function busyError(deps: Deps, err: HashQueueFullError, req: HashRequest): GatehouseError {
  const ctx = authContextOf(deps);
  ctx.busy.refused++;
  const now = Date.now();
  if (now - ctx.busy.loggedAt >= 1000) {
    const { hashMs, waitMs } = ctx.hasher.load();
    deps.logger.warn(
      { event: 'hash.busy', reason: err.reason, lane: req.lane, ip: clientIp(req.request), refused: ctx.busy.refused, hashMs: Math.round(hashMs), waitMs: Math.round(waitMs[req.lane]) },
      'password hashing queue full: refusing at once',
    );
    ctx.busy = { refused: 0, loggedAt: now };
  }
  const sec = retryAfterSec(err.retryAfterMs);
  const why =
    err.reason === 'wait'
      ? 'Too many sign-ins are waiting to be checked.'
      : err.reason === 'ip'
        ? 'Too many sign-ins from your network are waiting to be checked.'
        : 'Too many attempts for this account are waiting to be checked.';
  return new GatehouseError('busy', {
    detail: `${why} Try again in ${sec} second${sec === 1 ? '' : 's'}.`,
    headers: { 'retry-after': String(sec) },
    extra: { retry_after: sec },
  });
}

function claimOf(req: HashRequest): { lane: HashLane; ip: string; username: string } {
  return { lane: req.lane, ip: ipBucket(clientIp(req.request)), username: req.username };
}

/**
 * Takes a place in the password-hashing queue for one later `hashPassword`/`verifyPassword`,
 * or throws 503 `busy` with Retry-After at once (see crypto/password-hasher.ts, admission). Take
 * it before the request's other awaited work so a burst is counted as it arrives; give it back
 * with `release()` on every path that does not hash.
 */
export function admitHash(deps: Deps, req: HashRequest): HashTicket {
  try {
    return authContextOf(deps).hasher.admit(claimOf(req));
  } catch (err) {
    if (err instanceof HashQueueFullError) throw busyError(deps, err, req);
    throw err;
  }
}

/** Throws what `admitHash` would throw now, without taking a place: the early answer that costs nothing else. */
export function checkHashAdmission(deps: Deps, req: HashRequest): void {
  try {
    authContextOf(deps).hasher.check(claimOf(req));
  } catch (err) {
    if (err instanceof HashQueueFullError) throw busyError(deps, err, req);
    throw err;
  }
}

/** argon2id of a new password; with a ticket from `admitHash`, in its lane (an HTTP request), else unconditionally (CLI). */
export async function hashPassword(deps: Deps, password: string, ticket?: HashTicket): Promise<string> {
  return authContextOf(deps).hasher.hash(normalizePassword(password), ticket);
}

/**
 * Verifies a password against a user's hash, or against the dummy hash when there is no user,
 * so an unknown username costs the same time as a wrong password. Always false without a user.
 */
export async function verifyPassword(deps: Deps, passwordHash: string | null, password: string, ticket?: HashTicket): Promise<boolean> {
  const ctx = authContextOf(deps);
  const target = passwordHash ?? (await ctx.dummyHash);
  const ok = await ctx.hasher.verify(target, normalizePassword(password), ticket);
  return passwordHash !== null && ok;
}
