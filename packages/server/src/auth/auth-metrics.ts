import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Deps } from '../context.js';
import type { PasswordHasher } from '../crypto/password-hasher.js';

/** How a sign-in attempt (sign-in page or password grant) ended. */
export type SigninOutcome = 'success' | 'failure' | 'locked' | 'rate_limited' | 'busy';
/** How a sign-up ended: created, refused (taken, weak, invalid, per-IP limit…), challenged (a proof-of-work was required and missing or wrong). */
export type SignupOutcome = 'created' | 'refused' | 'challenged';
/** What a mail was for (auth/email/mail.ts). */
export type EmailKind = 'verify' | 'reset' | 'notification';
/** How sending it ended: sent (the SMTP server took it), failed (refused, unreachable, timed out). */
export type EmailOutcome = 'sent' | 'failed';

/**
 * The auth service's Prometheus metrics, one registry per Deps (see `authMetricsOf`):
 * sign-in outcomes, sign-ups, token grants by grant type, refresh-token reuse, revocations by
 * kind, and the password-hashing queue (length by state, wait before a hash starts). Served by
 * the auth service's own GET /metrics (its internal port, split roles) and merged into the
 * gateway's /metrics when both run in one process (`gatehouse start`). Not on any hot path of
 * the gateway: these count rare, costly events.
 */
export class AuthMetrics {
  readonly registry = new Registry();
  private readonly signins: Counter<'outcome'>;
  private readonly signups: Counter<'outcome'>;
  private readonly grants: Counter<'grant_type'>;
  private readonly reuse: Counter;
  private readonly revocations: Counter<'kind'>;
  private readonly emails: Counter<'kind' | 'outcome'>;
  readonly hashWait: Histogram<'lane'>;

  constructor() {
    const registers = [this.registry];
    this.signins = new Counter({
      name: 'gatehouse_signins_total',
      help: 'Sign-in attempts (sign-in page and password grant), by outcome: success, failure (wrong username or password), locked (too many failures for the account), rate_limited (per IP), busy (hashing queue full).',
      labelNames: ['outcome'],
      registers,
    });
    this.signups = new Counter({
      name: 'gatehouse_signups_total',
      help: 'Sign-up attempts, by outcome: created, refused (taken, weak or invalid, rate limited), challenged (proof-of-work required and missing or wrong).',
      labelNames: ['outcome'],
      registers,
    });
    this.grants = new Counter({
      name: 'gatehouse_token_grants_total',
      help: 'Tokens issued by POST /auth/token, by grant type (password, refresh_token, client_credentials, token-exchange).',
      labelNames: ['grant_type'],
      registers,
    });
    this.reuse = new Counter({
      name: 'gatehouse_refresh_reuse_detected_total',
      help: 'Rotated refresh tokens presented again after the grace period (the session was ended: someone else holds the family).',
      registers,
    });
    this.revocations = new Counter({
      name: 'gatehouse_revocations_total',
      help: 'Revocations published (sign-outs, ended sessions, revoked tokens, role changes), by kind of revocation event.',
      labelNames: ['kind'],
      registers,
    });
    this.emails = new Counter({
      name: 'gatehouse_emails_total',
      help: 'Mails handed to the SMTP server (email.smtpUrl), by kind (verify, reset, notification) and outcome (sent, failed: refused, unreachable or timed out).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.hashWait = new Histogram({
      name: 'gatehouse_password_hash_wait_seconds',
      help: 'Time a password hash waited in the queue for a hashing thread, by lane (known_device, normal).',
      labelNames: ['lane'],
      buckets: [0, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    for (const o of ['success', 'failure', 'locked', 'rate_limited', 'busy'] as const) this.signins.labels(o);
    for (const o of ['created', 'refused', 'challenged'] as const) this.signups.labels(o);
    for (const k of ['verify', 'reset', 'notification'] as const) for (const o of ['sent', 'failed'] as const) this.emails.labels(k, o);
    for (const g of ['password', 'refresh_token', 'client_credentials', 'token-exchange', 'device_code']) this.grants.labels(g);
  }

  signin(outcome: SigninOutcome): void {
    this.signins.labels(outcome).inc();
  }
  signup(outcome: SignupOutcome): void {
    this.signups.labels(outcome).inc();
  }
  grant(grantType: 'password' | 'refresh_token' | 'client_credentials' | 'token-exchange' | 'device_code'): void {
    this.grants.labels(grantType).inc();
  }
  refreshReuse(): void {
    this.reuse.inc();
  }
  revocation(kind: string): void {
    this.revocations.labels(kind).inc();
  }
  email(kind: EmailKind, outcome: EmailOutcome): void {
    this.emails.labels(kind, outcome).inc();
  }

  /**
   * `gatehouse_password_hash_queue{state}`: hashes running and waiting, read at scrape time.
   * The gauge follows the hasher last given (a later auth service built on the same Deps).
   */
  watchHasher(hasher: PasswordHasher): void {
    this.registry.removeSingleMetric('gatehouse_password_hash_queue');
    new Gauge({
      name: 'gatehouse_password_hash_queue',
      help: 'Password hashes now running on the hashing threads and waiting for one, by state (running, queued).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const s = hasher.stats();
        this.labels('running').set(s.running);
        this.labels('queued').set(s.queued);
      },
    });
  }
}

// Kept per Deps on purpose: revocations are counted where code holds only a Deps (sessions.ts, tokens/, every role's pending replay), and the gateway merges these into its /metrics.
const byDeps = new WeakMap<Deps, AuthMetrics>();

/** This Deps' auth metrics (created on first use). */
export function authMetricsOf(deps: Deps): AuthMetrics {
  let m = byDeps.get(deps);
  if (m === undefined) byDeps.set(deps, (m = new AuthMetrics()));
  return m;
}

/** This Deps' auth metrics if an auth service was built on it (the gateway merges them), else undefined. */
export function existingAuthMetrics(deps: Deps): AuthMetrics | undefined {
  return byDeps.get(deps);
}
