import type { MailMessage } from './mail.js';

/**
 * The text of every mail, in one place. Plain text only (no HTML: nothing to render, nothing to
 * track). A link is the only secret a mail holds; mails are never logged.
 */

export function verificationMail(username: string, link: string, ttlHours: number, to: string): MailMessage {
  return {
    to,
    subject: 'Confirm your email address',
    text: [
      `Hello ${username},`,
      '',
      'Open this link to confirm that this address belongs to your account:',
      '',
      link,
      '',
      `The link works once, for ${ttlHours} hour${ttlHours === 1 ? '' : 's'}. If you did not ask for this, ignore this mail: nothing changes.`,
    ].join('\n'),
  };
}

export function resetMail(username: string, link: string, ttlMin: number, to: string): MailMessage {
  return {
    to,
    subject: 'Reset your password',
    text: [
      `Hello ${username},`,
      '',
      'Someone (we hope you) asked to reset the password of your account. Open this link to choose a new one:',
      '',
      link,
      '',
      `The link works once, for ${ttlMin} minutes; a newer link replaces it. Choosing a new password signs you out everywhere.`,
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}

/** A security notification: what happened, and what to do if it was not the user. */
export function notificationMail(username: string, to: string, subject: string, what: string, when: Date, where: string | null): MailMessage {
  return {
    to,
    subject,
    text: [
      `Hello ${username},`,
      '',
      `${what}`,
      '',
      `When: ${when.toUTCString()}`,
      ...(where ? [`From: ${where}`] : []),
      '',
      'If this was you, there is nothing to do.',
      'If it was not, reset your password now (the sign-in page has "Forgot your password?"), then review your devices on the account page.',
    ].join('\n'),
  };
}
