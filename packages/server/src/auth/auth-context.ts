import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { BackgroundAudit } from './audit.js';
import { authMetricsOf, type AuthMetrics } from './auth-metrics.js';
import { mailOf } from './email/mail.js';
import { createPasswordHasher, HashQueueFullError, type HashLane, type HashTicket, type PasswordHasher } from '../crypto/password-hasher.js';
import { randomSecret } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import { clientIp, ipBucket } from './client-ip.js';
import { normalizePassword } from './policy/password.js';
import { NO_PASSWORD } from '../stores/types.js';
import { retryAfterSec } from './rate-limit.js';

/**
 * The auth module's own state, built once per auth service by `createAuthContext` (in
 * `buildAuthService`, or by a CLI command that creates users) and handed on explicitly: to the
 * endpoints in their EndpointContext, to the sign-in and user functions as their first argument.
 */
export interface AuthContext {
  readonly deps: Deps;
  /** The one password hasher of the service: one concurrency cap for every hash it computes. */
  readonly hasher: PasswordHasher;
  /** argon2id hash of a random secret, verified when the username is unknown (same time). */
  readonly dummyHash: Promise<string>;
  /** Hash admissions refused since the last `hash.busy` log line (one line a second at most). */
  busy: { refused: number; loggedAt: number };
  /** The auth metrics of `deps` (auth-metrics.ts). */
  readonly metrics: AuthMetrics;
  /** Security events still being written in the background (audit.ts); settled on close. */
  readonly backgroundAudit: BackgroundAudit;
  /** Sign-ups in progress, by the skeleton of the username (user-admin.ts `oneAtATime`). */
  readonly creating: Map<string, Promise<unknown>>;
}

/**
 * Builds the auth state on `deps`: the hasher (its threads start on first use) and, at once,
 * the dummy hash. Build one per auth service (or CLI command) and close it with
 * `closeAuthContext` (the auth service does so when it closes).
 */
export function createAuthContext(deps: Deps): AuthContext {
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
  return { deps, hasher, dummyHash, busy: { refused: 0, loggedAt: 0 }, metrics, backgroundAudit: new BackgroundAudit(deps), creating: new Map() };
}

/** Waits for the background security events (before the stores may close), then stops the hashing threads. */
export async function closeAuthContext(auth: AuthContext): Promise<void> {
  // Mail work (a forgotten-password request answered already) may still record events.
  await mailOf(auth.deps).close();
  await auth.backgroundAudit.settle();
  await auth.hasher.close();
}

/** What a request's hash is counted against: its lane, its client's address bucket, the canonical username. */
export interface HashRequest {
  lane: HashLane;
  request: FastifyRequest;
  /** Canonical username (sign-in, sign-up) or the account's (password change). */
  username: string;
}

/** 503 `busy` with Retry-After, for a hash refused at admission; logged once a second at most. */
function busyError(ctx: AuthContext, err: HashQueueFullError, req: HashRequest): GatehouseError {
  ctx.busy.refused++;
  const now = Date.now();
  if (now - ctx.busy.loggedAt >= 1000) {
    const { hashMs, waitMs } = ctx.hasher.load();
    ctx.deps.logger.warn(
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
export function admitHash(auth: AuthContext, req: HashRequest): HashTicket {
  try {
    return auth.hasher.admit(claimOf(req));
  } catch (err) {
    if (err instanceof HashQueueFullError) throw busyError(auth, err, req);
    throw err;
  }
}

/** Throws what `admitHash` would throw now, without taking a place: the early answer that costs nothing else. */
export function checkHashAdmission(auth: AuthContext, req: HashRequest): void {
  try {
    auth.hasher.check(claimOf(req));
  } catch (err) {
    if (err instanceof HashQueueFullError) throw busyError(auth, err, req);
    throw err;
  }
}

/** argon2id of a new password; with a ticket from `admitHash`, in its lane (an HTTP request), else unconditionally (CLI). */
export async function hashPassword(auth: Pick<AuthContext, 'hasher'>, password: string, ticket?: HashTicket): Promise<string> {
  return auth.hasher.hash(normalizePassword(password), ticket);
}

/**
 * Verifies a password against a user's hash, or against the dummy hash when there is no user
 * or the user has no password (NO_PASSWORD: signed up through an identity provider), so an
 * unknown username or a password-less account costs the same time as a wrong password. Always
 * false without a user or a password. Every password check goes through here.
 */
export async function verifyPassword(auth: AuthContext, passwordHash: string | null, password: string, ticket?: HashTicket): Promise<boolean> {
  const usable = passwordHash !== null && passwordHash !== NO_PASSWORD;
  const target = usable ? passwordHash : await auth.dummyHash;
  const ok = await auth.hasher.verify(target, normalizePassword(password), ticket);
  return usable && ok;
}
