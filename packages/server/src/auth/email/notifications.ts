import type { Deps } from '../../context.js';
import { canonicalEmail, type AuditEvent, type AuditEventType, type UserEmailRecord } from '../../stores/types.js';
import { mailOf } from './mail.js';
import { notificationMail } from './messages.js';

/**
 * Security notifications (issue 18): the ONE map from security events to mails. `recordAudit`
 * (audit.ts) hands every event it stored here; the mail goes out in the background, only when
 * `email.notifications` is on, SMTP is configured and the user has a verified address.
 */
const NOTIFY: Partial<Record<AuditEventType, { subject: string; what: string }>> = {
  'signin.success': { subject: 'New sign-in to your account', what: 'Your account was signed in to from a device it had not been used on before.' },
  'password.changed': { subject: 'Your password was changed', what: 'The password of your account was changed.' },
  'password.set': { subject: 'A password was set on your account', what: 'A password was set on your account; it can now sign in with it.' },
  'password.reset': { subject: 'Your password was reset', what: 'The password of your account was reset with a reset link, and every device was signed out.' },
  'mfa.totp_added': { subject: 'Authenticator app turned on', what: 'An authenticator app was added to your account as a second factor.' },
  'mfa.totp_removed': { subject: 'Authenticator app removed', what: 'The authenticator app of your account was removed: sign-ins no longer ask for its codes.' },
  'mfa.recovery_codes_generated': { subject: 'New recovery codes made', what: 'New recovery codes were made for your account; the old ones no longer work.' },
  'passkey.registered': { subject: 'Passkey added', what: 'A passkey was added to your account.' },
  'passkey.removed': { subject: 'Passkey removed', what: 'A passkey was removed from your account.' },
};

/** How far back a device id counts as seen for the account (its latest security events). */
const SEEN_DEVICE_LOOKBACK = 500;

/** The longest user agent a mail shows (characters). */
const USER_AGENT_SHOWN = 120;

/**
 * The user agent as a mail shows it. Whoever signs in chooses it, and the mail comes from the
 * server: quoted, short, without line or paragraph separators, bidi and other format characters
 * or quotes, so it cannot pass for the mail's own text ("this was our security check, nothing to
 * do") or reorder what the user reads.
 */
export function shownUserAgent(ua: string): string {
  const clean = ua.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}"]/gu, '').replace(/\s+/gu, ' ').trim();
  return clean.length > USER_AGENT_SHOWN ? `${clean.slice(0, USER_AGENT_SHOWN)}…` : clean;
}

/** Where a change came from, as a mail says it: the address and the quoted browser (`shownUserAgent`); null when neither is known. */
function whereFrom(ip: string | null, userAgent: string | null): string | null {
  return [ip, userAgent === null ? null : `browser "${shownUserAgent(userAgent)}"`].filter((x): x is string => x !== null).join(', ') || null;
}

/** Whether this event mails the user (before looking at the user's address). */
export function notifies(type: AuditEventType): boolean {
  return NOTIFY[type] !== undefined;
}

/** Starts the notification of `event`, if it is one; never waits for it or throws. */
export function notifyFor(deps: Deps, event: AuditEvent): void {
  const spec = NOTIFY[event.type];
  if (spec === undefined || event.userId === null || !deps.config.email.notifications) return;
  const mail = mailOf(deps);
  if (!mail.configured) return;
  const userId = event.userId;
  mail.background(async () => {
    const email = await deps.stores.emails.get(userId);
    if (email === null || email.verifiedAt === null) return;
    if (event.type === 'signin.success') {
      // A new device: one this account never signed in from (within its latest events).
      if (event.deviceId === null) return;
      const earlier = await deps.stores.audit.listByUser(userId, SEEN_DEVICE_LOOKBACK);
      if (earlier.some((e) => e.id !== event.id && e.type === 'signin.success' && e.deviceId === event.deviceId)) return;
    }
    const user = await deps.stores.users.findById(userId);
    if (user === null) return;
    await mail.send('notification', userId, notificationMail(user.username, email.address, spec.subject, spec.what, new Date(event.at), whereFrom(event.ip, event.userAgent)));
  });
}

/**
 * Tells a verified address the account is leaving (replaced by PUT /auth/email, or removed) that
 * it no longer gets the account's reset links and notices: the one notice that cannot go to the
 * account's current address, since whoever changed it may own that one (a thief who knows the
 * password changes the address first, so no later notice reaches the owner). Never names the
 * new address. In the background; only with `email.notifications` and SMTP configured.
 */
export function notifyAddressLeft(
  deps: Deps,
  user: { id: string; username: string },
  left: UserEmailRecord | null,
  next: string | null,
  from: { ip: string | null; userAgent: string | null },
): void {
  if (left === null || left.verifiedAt === null || !deps.config.email.notifications) return;
  if (next !== null && canonicalEmail(next) === canonicalEmail(left.address)) return;
  const mail = mailOf(deps);
  if (!mail.configured) return;
  const [subject, what] =
    next === null
      ? ['Your email address was removed', 'This address was removed from your account: it no longer receives its password reset links and security notices.']
      : ['Your email address was changed', 'Your account was given another email address: this one no longer receives its password reset links and security notices.'];
  const where = whereFrom(from.ip, from.userAgent);
  const at = new Date(deps.clock.now());
  mail.background(async () => {
    await mail.send('notification', user.id, notificationMail(user.username, left.address, subject, what, at, where));
  });
}
