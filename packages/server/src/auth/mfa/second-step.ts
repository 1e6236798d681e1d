import type { FastifyRequest } from 'fastify';
import { GatehouseError } from '../../errors/index.js';
import type { MfaTicketRecord, UserRecord } from '../../stores/types.js';
import type { EndpointContext } from '../endpoint-context.js';
import { checkSecondStep, type SigninVia } from '../signin-guard.js';
import { takeSecondFactor, type SecondFactorProof } from './factors.js';
import { liveTicket, takeTicket, type TicketVia } from './ticket.js';

export interface SecondStepInput {
  ticket: string;
  code?: string | undefined;
  recoveryCode?: string | undefined;
  /** The paths whose tickets this endpoint finishes. */
  via: readonly TicketVia[];
  auditVia: SigninVia;
}

/**
 * The second step of a sign-in, shared by `POST /auth/signin/mfa` and the mfa-otp grant: the
 * ticket must be live and from `via`; the code (or recovery code) is checked against the
 * ticket's user behind the sign-in lock (`checkSecondStep`) and taken (accepted once); then the
 * ticket is taken (one conditional UPDATE: of two requests racing with one ticket, one wins).
 * Throws 401 `invalid_mfa_ticket` / `invalid_mfa_code`, 429 when the account is locked.
 */
export async function finishSecondStep(
  ctx: EndpointContext,
  request: FastifyRequest,
  input: SecondStepInput,
): Promise<{ ticket: MfaTicketRecord; user: UserRecord; knownDevice: boolean; factor: 'totp' | 'recovery_code' }> {
  const { deps, auth } = ctx;
  if ((input.code === undefined) === (input.recoveryCode === undefined)) {
    throw new GatehouseError('invalid_request', { detail: 'Send exactly one of "code" and "recovery_code".' });
  }
  const proof: SecondFactorProof = input.code !== undefined ? { code: input.code } : { recoveryCode: input.recoveryCode ?? '' };
  const ticket = await liveTicket(deps, input.ticket, input.via);
  if (!ticket) throw new GatehouseError('invalid_mfa_ticket');
  const user = await deps.stores.users.findById(ticket.userId);
  if (!user) throw new GatehouseError('invalid_mfa_ticket');
  let factor: 'totp' | 'recovery_code' | null = null;
  const check = await checkSecondStep(auth, request, user, input.auditVia, async () => {
    factor = await takeSecondFactor(deps, user.id, proof);
    return factor !== null;
  });
  if (!check.ok || factor === null) {
    auth.backgroundAudit.record(request, {
      type: 'signin.mfa_failure',
      userId: user.id,
      deviceId: ticket.deviceId,
      detail: { via: input.auditVia, factor: 'code' in proof ? 'totp' : 'recovery_code', attempts_left: check.attemptsLeft },
    });
    throw new GatehouseError('invalid_mfa_code', { extra: { attempts_left: check.attemptsLeft } });
  }
  if (!(await takeTicket(deps, ticket))) throw new GatehouseError('invalid_mfa_ticket');
  if (factor === 'recovery_code') {
    const remaining = await deps.stores.mfa.countUnusedRecoveryCodes(user.id);
    auth.backgroundAudit.record(request, { type: 'mfa.recovery_code_used', userId: user.id, deviceId: ticket.deviceId, detail: { remaining } });
  }
  return { ticket, user, knownDevice: check.knownDevice, factor };
}
