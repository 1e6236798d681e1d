import type { Deps } from '../../context.js';
import { hashRecoveryCode } from './recovery-codes.js';
import { openTotpSecret, totpStepOf } from './totp.js';

/** A way to finish a sign-in's second step, as `mfa_required` lists them. */
export type SecondFactor = 'totp' | 'recovery_code' | 'passkey';

/**
 * The user's second factors: `totp` once a factor is confirmed (a pending enrolment does not
 * count), and `recovery_code` beside it while unused codes remain (recovery codes stand in for
 * the app's codes only); `passkey` while at least one passkey is registered (an assertion for
 * the ticket's user, `POST /auth/signin/mfa/passkey-options`). Empty: one step signs in.
 */
export async function secondFactorsOf(deps: Pick<Deps, 'stores'>, userId: string): Promise<SecondFactor[]> {
  const factors: SecondFactor[] = [];
  const totp = await deps.stores.mfa.findTotp(userId);
  if (totp !== null && totp.confirmedAt !== null) {
    factors.push('totp');
    if ((await deps.stores.mfa.countUnusedRecoveryCodes(userId)) > 0) factors.push('recovery_code');
  }
  if ((await deps.stores.webauthn.listCredentials(userId)).length > 0) factors.push('passkey');
  return factors;
}

/** What the second step presents: a one-time code or a recovery code. */
export type SecondFactorProof = { code: string } | { recoveryCode: string };

/**
 * Checks and TAKES the proof for the user: a TOTP code whose time step is later than the last
 * accepted one (one conditional UPDATE in the store, so a code is accepted once across every
 * instance), or an unused recovery code (marked used the same way). False for anything else.
 */
export async function takeSecondFactor(deps: Pick<Deps, 'stores' | 'mfaKey' | 'clock'>, userId: string, proof: SecondFactorProof): Promise<'totp' | 'recovery_code' | null> {
  const totp = await deps.stores.mfa.findTotp(userId);
  if (totp === null || totp.confirmedAt === null) return null;
  if ('code' in proof) {
    const secret = await openTotpSecret(deps, userId, totp.secretJwe);
    const step = totpStepOf(secret, proof.code, deps.clock.now());
    if (step === null) return null;
    return (await deps.stores.mfa.useTotpStep(userId, step)) ? 'totp' : null;
  }
  return (await deps.stores.mfa.useRecoveryCode(userId, hashRecoveryCode(proof.recoveryCode), deps.clock.now())) ? 'recovery_code' : null;
}
