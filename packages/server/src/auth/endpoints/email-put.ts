import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import { GatehouseError } from '../../errors/index.js';
import { hashSecret } from '../../crypto/secrets.js';
import { canonicalEmail, hasPassword, type UserRecord } from '../../stores/types.js';
import type { AuthContext } from '../auth-context.js';
import { recordAudit, userAgentOf } from '../audit.js';
import { notifyAddressLeft } from '../email/notifications.js';
import { mailOf } from '../email/mail.js';
import { verificationMail } from '../email/messages.js';
import { clientIp, type EndpointContext } from '../endpoint-context.js';
import { SIGN_IN_METHODS_LANE } from '../lanes.js';
import { type OperationDoc } from '../openapi.js';
import { accountOf, passportOf } from '../passport.js';
import { rateLimited } from '../rate-limit.js';
import { issueEmailToken, verifyLink } from '../recovery/tokens.js';
import { RECENT_SIGNIN_MS } from '../webauthn/reauth.js';
import { EMAIL_BODY, emailAnswer, emailDomain } from './email-get.js';
import { checkCurrentPassword } from '../current-password.js';

export const emailPutSchema = {
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['email'],
    properties: {
      email: { type: 'string', minLength: 3, maxLength: 254 },
      // Required when the account has a password (a stolen session must not redirect the recovery address).
      password: { type: 'string', minLength: 1, maxLength: 16384 },
    },
  },
} as const;
export type EmailPutBody = FromSchema<(typeof emailPutSchema)['body']>;
const EMAIL_PUT_DOC: OperationDoc = {
  summary: "Set the user's email address (replacing any other); a verification link is mailed to it, and it counts once verified",
  answers: { 200: { description: 'Set, not verified yet; the link went out.', body: EMAIL_BODY } },
};

/** One address, plainly: local@domain, no spaces or angle brackets (nodemailer would read those as a display name). */
const ADDRESS_RE = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/u;

/**
 * What changing or removing the email address asks for (the address decides where reset links
 * go, and where the owner hears of changes): the current password when the account has one (401
 * invalid_credentials, on the password change's lock), else, for an account without one
 * (federated sign-up), a sign-in within the last ten minutes (403 forbidden), as for its
 * passkeys (webauthn/reauth.ts): a stolen old session must not plant an address that then resets
 * the account to a password of the thief's choosing, nor remove the owner's.
 */
export async function requireEmailChangeProof(
  auth: AuthContext,
  request: FastifyRequest,
  user: UserRecord,
  sid: string | undefined,
  password: string | undefined,
  what: 'change' | 'remove',
): Promise<void> {
  const { deps } = auth;
  if (hasPassword(user)) {
    if (password === undefined) throw new GatehouseError('invalid_credentials', { detail: `Send your current password as "password" to ${what} your email address.` });
    await checkCurrentPassword(auth, request, user, password, { lock: 'password-change', event: 'email.change.failure', message: `email ${what} refused: wrong current password` });
    return;
  }
  const session = sid === undefined ? null : await deps.stores.sessions.findById(sid);
  if (session === null || deps.clock.now() - session.createdAt > RECENT_SIGNIN_MS) {
    throw new GatehouseError('forbidden', { detail: `Sign in again (within the last 10 minutes) to ${what} your email address: it can reset your password.` });
  }
}

/**
 * PUT /auth/email {email, password} -> 200 {email, verified: false, verified_at: null}. Needs the
 * current password when the account has one (401 invalid_credentials; limited like a password
 * change), else a sign-in within the last ten minutes (403 forbidden). Mails a verification
 * link bound to this user AND this address (503 email_unavailable, nothing changed, when SMTP is
 * not configured or did not take it); at most `recovery.verifyMailsPerHour` such mails per
 * account and per address (429 rate_limited). A verified address it replaces is told (without
 * the new one), and a pending reset link dies.
 */
export function registerEmailPut(app: FastifyInstance, { deps, auth }: EndpointContext): void {
  app.put<{ Body: EmailPutBody }>('/auth/email', { schema: emailPutSchema, config: { lane: SIGN_IN_METHODS_LANE, openapi: EMAIL_PUT_DOC } }, async (request, reply) => {
    const passport = passportOf(request);
    const user = await accountOf(deps, passport);
    const address = request.body.email.trim();
    if (!ADDRESS_RE.test(address)) {
      throw new GatehouseError('invalid_body', { detail: 'The email address must look like name@example.com (one address, no display name).' });
    }
    const mail = mailOf(deps);
    if (!mail.configured) {
      throw new GatehouseError('email_unavailable', { detail: 'This server sends no mail (email.smtpUrl is not set), so an address cannot be verified. Ask an operator to configure SMTP.' });
    }
    await requireEmailChangeProof(auth, request, user, passport.sid, request.body.password, 'change');
    // Every PUT mails the address it names: limited per account and per address, so nobody can
    // use the server to flood a mailbox (their own account, or many accounts, one address).
    const perHour = deps.config.recovery.verifyMailsPerHour;
    if (perHour > 0) {
      for (const key of [`verify-mail:user:${user.id}`, `verify-mail:address:${hashSecret(canonicalEmail(address))}`]) {
        const r = await deps.stores.rateLimits.consume(key, { points: perHour, durationSec: 3600 });
        if (!r.allowed) {
          deps.logger.info({ event: 'email.verify_mail_limited', userId: user.id, retryAfterMs: r.retryAfterMs }, 'verification mail limit reached');
          throw rateLimited(r.retryAfterMs, `No more than ${perHour} verification mails an hour go to one account or one address (recovery.verifyMailsPerHour).`);
        }
      }
    }
    // The link first: when the mail cannot go out, nothing is changed.
    const { token } = await issueEmailToken(deps, user.id, 'verify', address);
    await mail.sendOrFail('verify', user.id, verificationMail(user.username, verifyLink(deps, token), deps.config.recovery.verifyTtlHours, address));
    const left = await deps.stores.emails.get(user.id);
    const record = await deps.stores.emails.set(user.id, address, deps.clock.now());
    notifyAddressLeft(deps, user, left, address, { ip: clientIp(request), userAgent: userAgentOf(request) });
    // A reset link mailed to the old address (a mailbox the user may no longer control) dies with it.
    await deps.stores.emails.deleteTokens(user.id, 'reset');
    await recordAudit(deps, request, { type: 'email.added', userId: user.id, deviceId: passport.did ?? null, detail: { domain: emailDomain(address) } });
    return reply.code(200).send(emailAnswer(record));
  });
}
