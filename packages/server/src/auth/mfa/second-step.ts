import type { FastifyRequest } from 'fastify';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type MfaTicketRecord, type UserRecord } from '../../stores/types.js';
import type { EndpointContext } from '../endpoint-context.js';
import { clientIp } from '../client-ip.js';
import { checkSecondStep, type SigninVia } from '../signin-guard.js';
import { verifyPasskeyAssertion } from '../webauthn/ceremony.js';
import { takeSecondFactor, type SecondFactorProof } from './factors.js';
import { liveTicket, takeTicket, type TicketVia } from './ticket.js';
import { refuseWhenPasswordChangeRequired } from '../recovery/forced-change.js';

export interface SecondStepInput {
  ticket: string;
  code?: string | undefined;
  recoveryCode?: string | undefined;
  /** A passkey assertion answering `POST /auth/signin/mfa/passkey-options` for this ticket's user. */
  passkey?: AuthenticationResponseJSON | undefined;
  /** The paths whose tickets this endpoint finishes. */
  via: readonly TicketVia[];
  auditVia: SigninVia;
}

export type UsedFactor = 'totp' | 'recovery_code' | 'passkey';

/**
 * The second step of a sign-in, shared by `POST /auth/signin/mfa` and the mfa-otp grant: the
 * ticket must be live and from `via`; the code (or recovery code, or passkey assertion) is
 * checked against the ticket's user behind the sign-in lock (`checkSecondStep`: a wrong
 * assertion costs a point like a wrong code) and taken (a code accepted once; an assertion's
 * challenge taken once, bound to the ticket's user, so another user's passkey is refused); then
 * the ticket is taken (one conditional UPDATE: of two requests racing with one ticket, one wins).
 * Throws 401 `invalid_mfa_ticket` / `invalid_mfa_code` / `invalid_passkey`, 429 when the account is locked.
 */
export async function finishSecondStep(
  ctx: EndpointContext,
  request: FastifyRequest,
  input: SecondStepInput,
): Promise<{ ticket: MfaTicketRecord; user: UserRecord; knownDevice: boolean; factor: UsedFactor }> {
  const { deps, auth } = ctx;
  const given = [input.code, input.recoveryCode, input.passkey].filter((p) => p !== undefined).length;
  if (given !== 1) {
    throw new GatehouseError('invalid_request', { detail: input.passkey === undefined ? 'Send exactly one of "code" and "recovery_code".' : 'Send exactly one of "code", "recovery_code" and "passkey".' });
  }
  const passkey = input.passkey;
  const proof: SecondFactorProof | null = passkey !== undefined ? null : input.code !== undefined ? { code: input.code } : { recoveryCode: input.recoveryCode ?? '' };
  const ticket = await liveTicket(deps, input.ticket, input.via);
  if (!ticket) throw new GatehouseError('invalid_mfa_ticket');
  const user = await deps.stores.users.findById(ticket.userId);
  if (!user) throw new GatehouseError('invalid_mfa_ticket');
  // Disabled since the password step (issue 18): the answer of a wrong password, nothing taken.
  if (isDisabled(user)) throw new GatehouseError('invalid_credentials');
  let factor: UsedFactor | null = null;
  const check = await checkSecondStep(auth, request, user, input.auditVia, async () => {
    if (proof !== null) {
      factor = await takeSecondFactor(deps, user.id, proof);
      return factor !== null;
    }
    const verified = await verifyPasskeyAssertion(deps, passkey as AuthenticationResponseJSON, { userId: user.id });
    if (!verified.ok) {
      deps.logger.info({ event: 'passkey.second_step.failure', userId: user.id, ip: clientIp(request), reason: verified.reason }, 'passkey second step refused');
      return false;
    }
    factor = 'passkey';
    return true;
  });
  if (!check.ok || factor === null) {
    auth.backgroundAudit.record(request, {
      type: 'signin.mfa_failure',
      userId: user.id,
      deviceId: ticket.deviceId,
      detail: { via: input.auditVia, factor: proof === null ? 'passkey' : 'code' in proof ? 'totp' : 'recovery_code', attempts_left: check.attemptsLeft },
    });
    throw new GatehouseError(proof === null ? 'invalid_passkey' : 'invalid_mfa_code', { extra: { attempts_left: check.attemptsLeft } });
  }
  if (!(await takeTicket(deps, ticket))) throw new GatehouseError('invalid_mfa_ticket');
  if (factor === 'recovery_code') {
    const remaining = await deps.stores.mfa.countUnusedRecoveryCodes(user.id);
    auth.backgroundAudit.record(request, { type: 'mfa.recovery_code_used', userId: user.id, deviceId: ticket.deviceId, detail: { remaining } });
  }
  // Both factors proved: an account asked for a new password gets its reset token now (no session).
  await refuseWhenPasswordChangeRequired(deps, user);
  return { ticket, user, knownDevice: check.knownDevice, factor };
}
