import { hashSecret, randomSecret } from '../../crypto/secrets.js';
import type { Deps } from '../../context.js';
import { GatehouseError } from '../../errors/index.js';
import type { MfaTicketRecord, UserRecord } from '../../stores/types.js';
import type { SecondFactor } from './factors.js';

/** Where a ticket's first step came from; the second step must come the same way. */
export type TicketVia = 'signin' | 'signin_app' | 'password_grant';

export interface NewTicket {
  user: Pick<UserRecord, 'id'>;
  via: TicketVia;
  deviceId: string | null;
  deviceName: string | null;
  persistent: boolean;
  clientId: string | null;
  scope: string | null;
}

/**
 * Stores a new MFA ticket (its SHA-256 hash only) and returns the ticket: 256 random bits,
 * single use, `mfa.ticketTtlSec` long. It proves the password step only; it is no credential.
 */
export async function issueTicket(deps: Pick<Deps, 'stores' | 'clock' | 'config'>, t: NewTicket): Promise<{ ticket: string; expiresAt: number }> {
  const ticket = randomSecret();
  const now = deps.clock.now();
  const expiresAt = now + deps.config.mfa.ticketTtlSec * 1000;
  await deps.stores.mfa.createTicket({
    ticketHash: hashSecret(ticket),
    userId: t.user.id,
    via: t.via,
    deviceId: t.deviceId,
    deviceName: t.deviceName,
    persistent: t.persistent,
    clientId: t.clientId,
    scope: t.scope,
    createdAt: now,
    expiresAt,
    usedAt: null,
  });
  return { ticket, expiresAt };
}

/** The 401 `mfa_required` of the first step: the ticket and the factors that may finish it. */
export function mfaRequired(ticket: string, expiresAt: number, factors: readonly SecondFactor[], now: number, ticketField: 'mfa_ticket' | 'mfa_token'): GatehouseError {
  return new GatehouseError('mfa_required', {
    detail: 'The password is right; this account asks for a second factor. Send the ticket with a one-time code or a recovery code.',
    extra: { [ticketField]: ticket, factors, expires_in: Math.max(0, Math.round((expiresAt - now) / 1000)) },
  });
}

/** The ticket, if it is live (unused, unexpired) and was issued for `via`; null otherwise (unknown, used, expired, another path). */
export async function liveTicket(deps: Pick<Deps, 'stores' | 'clock'>, ticket: string, via: readonly TicketVia[]): Promise<MfaTicketRecord | null> {
  const record = await deps.stores.mfa.findTicket(hashSecret(ticket));
  if (!record || record.usedAt !== null || record.expiresAt <= deps.clock.now()) return null;
  if (!(via as readonly string[]).includes(record.via)) return null;
  return record;
}

/** Takes the ticket (one conditional UPDATE): true for exactly one caller, across instances. */
export function takeTicket(deps: Pick<Deps, 'stores' | 'clock'>, record: MfaTicketRecord): Promise<boolean> {
  return deps.stores.mfa.useTicket(record.ticketHash, deps.clock.now());
}
