import type { Deps } from '../../context.js';
import { hashSecret, randomSecret } from '../../crypto/secrets.js';
import type { EmailTokenPurpose, EmailTokenRecord } from '../../stores/types.js';
import { linkBase } from '../email/mail.js';

/**
 * Email tokens (issue 18): 256 random bits, only their SHA-256 stored, single use, a newer one
 * of the same kind voiding the user's older ones (EmailStore.createToken). A reset token lives
 * `recovery.resetTtlMin`, a verification token `recovery.verifyTtlHours`.
 */
export async function issueEmailToken(
  deps: Pick<Deps, 'stores' | 'clock' | 'config'>,
  userId: string,
  purpose: EmailTokenPurpose,
  address: string | null = null,
): Promise<{ token: string; expiresAt: number }> {
  const token = randomSecret();
  const now = deps.clock.now();
  const ttlMs = purpose === 'reset' ? deps.config.recovery.resetTtlMin * 60_000 : deps.config.recovery.verifyTtlHours * 3600_000;
  const record: EmailTokenRecord = { tokenHash: hashSecret(token), userId, purpose, address, createdAt: now, expiresAt: now + ttlMs, usedAt: null };
  await deps.stores.emails.createToken(record);
  return { token, expiresAt: record.expiresAt };
}

/** Takes the token, once: the record when it was live, of `purpose`, unused; null otherwise. */
export function takeEmailToken(deps: Pick<Deps, 'stores' | 'clock'>, token: string, purpose: EmailTokenPurpose): Promise<EmailTokenRecord | null> {
  return deps.stores.emails.useToken(hashSecret(token), purpose, deps.clock.now());
}

/**
 * The page that uses a token, with the token in the URL fragment: a browser never sends the
 * fragment, so the token reaches no access log, proxy or Referer.
 */
export function resetLink(deps: Pick<Deps, 'config'>, token: string): string {
  return `${linkBase(deps.config)}/reset-password#token=${token}`;
}

export function verifyLink(deps: Pick<Deps, 'config'>, token: string): string {
  return `${linkBase(deps.config)}/verify-email#token=${token}`;
}
