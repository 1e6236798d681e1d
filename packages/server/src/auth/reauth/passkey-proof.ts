import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { GatehouseError } from '../../errors/index.js';
import { clientIp } from '../endpoint-context.js';
import { PASSKEY_SIGNIN_AMR } from '../endpoints/signin-passkey.js';
import { rateLimited } from '../rate-limit.js';
import { verifyPasskeyAssertion } from '../webauthn/ceremony.js';
import { PUBLIC_KEY_CREDENTIAL_SCHEMA } from '../webauthn/http.js';
import type { ReauthProof } from './reauth.js';

/**
 * A passkey assertion as a re-authentication proof (`hwk`): it must answer the options of
 * `POST /auth/reauth/passkey-options` (a challenge bound to the session's user, taken once) and
 * be signed by one of that user's passkeys (every check of `verifyPasskeyAssertion`: origin, RP
 * id, signature, counter). With user verification (PIN, biometrics) it shows what a passkey
 * sign-in shows, amr `hwk user mfa`; without, `hwk` alone (with the password: `pwd hwk mfa`,
 * combinedAmr). Refusals share the password proof's lock (`password-change:user:<id>`).
 */
export const passkeyProof: ReauthProof = {
  field: 'passkey',
  schema: PUBLIC_KEY_CREDENTIAL_SCHEMA,
  async verify({ deps, request }, user, value) {
    const { maxFailures, lockWindowSec } = deps.config.signin;
    const key = `password-change:user:${user.id}`;
    const attempt = await deps.stores.rateLimits.consume(key, { points: maxFailures, durationSec: lockWindowSec });
    if (!attempt.allowed) throw rateLimited(attempt.retryAfterMs, 'Too many refused passkeys, codes or passwords.');
    const verified = await verifyPasskeyAssertion(deps, value as AuthenticationResponseJSON, { userId: user.id });
    if (!verified.ok) {
      deps.logger.warn({ event: 'reauth.failure', userId: user.id, username: user.usernameCanonical, ip: clientIp(request), proof: 'passkey', reason: verified.reason }, 're-authentication refused: passkey not accepted');
      throw new GatehouseError('invalid_passkey');
    }
    await deps.stores.rateLimits.reset(key);
    return verified.userVerified ? PASSKEY_SIGNIN_AMR : ['hwk'];
  },
};
