import type { FastifyRequest } from 'fastify';
import type { Deps } from '../../context.js';
import { hashSecret } from '../../crypto/secrets.js';
import { canonicalEmail, type UserRecord } from '../../stores/types.js';
import { recordAudit } from '../audit.js';
import { clientIp, ipBucket } from '../client-ip.js';
import { mailOf } from '../email/mail.js';
import { resetMail } from '../email/messages.js';
import { canonicalUsername } from '../policy/username.js';
import { rateLimited } from '../rate-limit.js';
import { issueEmailToken, resetLink } from './tokens.js';

/** The one answer of POST /auth/password/forgot, whatever happened. */
export const FORGOT_ANSWER = {
  status: 'accepted',
  detail: 'If an account with a verified email address matches, a reset link is on its way. It works once, for a short time; check your mail.',
} as const;

/**
 * Every answer takes at least this long (ms), so the answer's time says nothing about the
 * account: the lookups before it take the same work for a known and an unknown name (two reads),
 * and the token, the mail and the audit entry are made after the answer (`mail.background`).
 */
export const FORGOT_ANSWER_FLOOR_MS = 200;

/** Users a reset by one address may reach (several accounts may have verified one address). */
const MAX_USERS_PER_ADDRESS = 5;

const HOUR_SEC = 3600;

export function forgotAccountKey(input: string): string {
  return `forgot:account:${hashSecret(input)}`;
}

/**
 * A forgotten-password request (issue 18): by username, or by an address some account verified.
 * 1. limits: overall (`recovery.forgotGlobalPerMinute`) and per client IP
 *    (`recovery.forgotPerIpPerMinute`) answer 429 (they say nothing about any account);
 * 2. the same lookups whatever the input (user by name, then that user's address; by address:
 *    the users with it verified, then one user read), and a floor on the answer's time;
 * 3. per account (the canonical input, known or not: `recovery.forgotPerAccountPerHour`): past
 *    it, the answer is the same and nothing is sent;
 * 4. after the answer (not awaited): a reset token per matching user with a verified address,
 *    its link mailed, `password.reset_requested` recorded. An account without a verified address
 *    gets the entry with `sent: false`; nothing reveals it to the caller.
 * A failed send is logged and counted (mail.ts); the answer stays 202.
 */
export async function requestPasswordReset(deps: Deps, request: FastifyRequest, input: string): Promise<void> {
  const started = performance.now();
  const cfg = deps.config.recovery;
  const limits = deps.stores.rateLimits;
  if (cfg.forgotGlobalPerMinute > 0) {
    const r = await limits.consume('forgot:global', { points: cfg.forgotGlobalPerMinute, durationSec: 60 });
    if (!r.allowed) throw rateLimited(r.retryAfterMs, 'Too many password reset requests right now.');
  }
  if (cfg.forgotPerIpPerMinute > 0) {
    const ip = clientIp(request);
    const r = await limits.consume(`forgot:ip:${ipBucket(ip)}`, { points: cfg.forgotPerIpPerMinute, durationSec: 60 });
    if (!r.allowed) {
      deps.logger.info({ event: 'forgot.ip_limited', ip, retryAfterMs: r.retryAfterMs }, 'per-IP limit reached');
      throw rateLimited(r.retryAfterMs, 'Too many password reset requests from your network.');
    }
  }

  const trimmed = input.trim();
  const byEmail = trimmed.includes('@');
  const key = byEmail ? canonicalEmail(trimmed) : canonicalUsername(trimmed);
  const account = await limits.consume(forgotAccountKey(key), { points: cfg.forgotPerAccountPerHour, durationSec: HOUR_SEC });

  // Two reads either way, whether or not anything matches.
  let users: UserRecord[] = [];
  if (byEmail) {
    const ids = await deps.stores.emails.usersWithVerifiedAddress(key, MAX_USERS_PER_ADDRESS);
    const first = await deps.stores.users.findById(ids[0] ?? '');
    users = first ? [first] : [];
    for (const id of ids.slice(1)) {
      const u = await deps.stores.users.findById(id);
      if (u) users.push(u);
    }
  } else {
    const user = await deps.stores.users.findByCanonical(key);
    await deps.stores.emails.get(user?.id ?? '');
    users = user ? [user] : [];
  }

  if (!account.allowed) {
    deps.logger.info({ event: 'forgot.account_limited', known: users.length > 0, ip: clientIp(request) }, 'password reset request over the per-account limit: nothing sent');
  } else if (users.length === 0) {
    // Never the input itself: it may be a password typed in the wrong box, or someone's address.
    deps.logger.info({ event: 'forgot.unknown', by: byEmail ? 'email' : 'username', ip: clientIp(request) }, 'password reset request for no account');
  } else {
    const mail = mailOf(deps);
    for (const user of users) {
      mail.background(async () => {
        const email = await deps.stores.emails.get(user.id);
        const verified = email !== null && email.verifiedAt !== null;
        let sent = false;
        if (verified && mail.configured) {
          const { token } = await issueEmailToken(deps, user.id, 'reset');
          sent = await mail.send('reset', user.id, resetMail(user.username, resetLink(deps, token), cfg.resetTtlMin, email.address));
        }
        await recordAudit(deps, request, { type: 'password.reset_requested', userId: user.id, detail: { by: byEmail ? 'email' : 'username', sent } });
      });
    }
  }
  const left = FORGOT_ANSWER_FLOOR_MS - (performance.now() - started);
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}
