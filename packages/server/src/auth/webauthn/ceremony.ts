import { generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, AuthenticatorTransportFuture, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { isoBase64URL, isoUint8Array } from '@simplewebauthn/server/helpers';
import type { Deps } from '../../context.js';
import { hashSecret } from '../../crypto/secrets.js';
import { GatehouseError } from '../../errors/index.js';
import { isDisabled, type UserRecord, type WebAuthnChallengeRecord, type WebAuthnCredentialRecord } from '../../stores/types.js';
import { relyingPartyOf } from './relying-party.js';

/** How long a ceremony's challenge is good (the browser's timeout is the same). */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

const TRANSPORTS: ReadonlySet<string> = new Set(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']);

/** The relying party, or 409 passkeys_unavailable saying why (an IP-address public URL). */
function rp(deps: Deps) {
  const party = relyingPartyOf(deps.config);
  if (!party.ok) throw new GatehouseError('passkeys_unavailable', { detail: party.detail });
  return party;
}

/** The WebAuthn user handle of a user: its id (random, no personal data), as bytes. */
function userHandle(user: Pick<UserRecord, 'id'>): Uint8Array<ArrayBuffer> {
  return isoUint8Array.fromUTF8String(user.id);
}

async function keepChallenge(deps: Deps, challenge: string, kind: WebAuthnChallengeRecord['kind'], userId: string | null): Promise<void> {
  const now = deps.clock.now();
  await deps.stores.webauthn.createChallenge({ challengeHash: hashSecret(challenge), kind, userId, createdAt: now, expiresAt: now + CHALLENGE_TTL_MS });
}

/**
 * Takes the challenge the response's clientDataJSON names, once, from the store (so the
 * ceremony may finish on another instance). null: unreadable, unknown, used, expired, of the
 * other kind, or for another user than `userId` (null: one issued to nobody in particular).
 */
async function takeChallenge(deps: Deps, clientDataJSON: string, kind: WebAuthnChallengeRecord['kind'], userId: string | null): Promise<string | null> {
  let challenge: unknown;
  try {
    challenge = (JSON.parse(isoBase64URL.toUTF8String(clientDataJSON)) as { challenge?: unknown }).challenge;
  } catch {
    return null;
  }
  if (typeof challenge !== 'string' || challenge === '' || challenge.length > 512) return null;
  const taken = await deps.stores.webauthn.consumeChallenge(hashSecret(challenge), kind, deps.clock.now());
  if (taken === null || taken.userId !== userId) return null;
  return challenge;
}

/** Registration options for `user` (a resident key, user verification preferred); its passkeys excluded. */
export async function passkeyRegistrationOptions(deps: Deps, user: Pick<UserRecord, 'id' | 'username'>): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const party = rp(deps);
  const existing = await deps.stores.webauthn.listCredentials(user.id);
  const options = await generateRegistrationOptions({
    rpName: party.name,
    rpID: party.id,
    userID: userHandle(user),
    userName: user.username,
    attestationType: 'none',
    timeout: CHALLENGE_TTL_MS,
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransportFuture[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
  await keepChallenge(deps, options.challenge, 'registration', user.id);
  return options;
}

export type PasskeyFailure = { ok: false; reason: string };

/**
 * Verifies a registration response for `user` (challenge taken once, origin, RP id, user
 * presence) and stores the credential. `reason` is for the log only.
 */
export async function verifyPasskeyRegistration(
  deps: Deps,
  user: Pick<UserRecord, 'id'>,
  response: RegistrationResponseJSON,
  name: string,
): Promise<{ ok: true; credential: WebAuthnCredentialRecord } | PasskeyFailure> {
  const party = rp(deps);
  const challenge = await takeChallenge(deps, response.response.clientDataJSON, 'registration', user.id);
  if (challenge === null) return { ok: false, reason: 'challenge unknown, used, expired or for another user' };
  let info;
  try {
    const verified = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: party.origin, expectedRPID: party.id, requireUserVerification: false });
    if (!verified.verified) return { ok: false, reason: 'not verified' };
    info = verified.registrationInfo;
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : 'not verified' };
  }
  const now = deps.clock.now();
  const credential: WebAuthnCredentialRecord = {
    id: info.credential.id,
    userId: user.id,
    publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
    counter: info.credential.counter,
    transports: (response.response.transports ?? []).filter((t) => TRANSPORTS.has(t)),
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    name,
    createdAt: now,
    lastUsedAt: null,
  };
  await deps.stores.webauthn.createCredential(credential);
  return { ok: true, credential };
}

/**
 * Authentication options. Without `userId`: a passwordless sign-in (discoverable credentials,
 * no allow list, user verification required). With it: a second factor for that user (its
 * passkeys listed; the challenge is bound to the user).
 */
export async function passkeyAuthenticationOptions(deps: Deps, forUser?: { userId: string }): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const party = rp(deps);
  const allow = forUser === undefined ? [] : await deps.stores.webauthn.listCredentials(forUser.userId);
  const options = await generateAuthenticationOptions({
    rpID: party.id,
    timeout: CHALLENGE_TTL_MS,
    userVerification: forUser === undefined ? 'required' : 'preferred',
    allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports as AuthenticatorTransportFuture[] })),
  });
  await keepChallenge(deps, options.challenge, 'authentication', forUser?.userId ?? null);
  return options;
}

export interface VerifiedPasskey {
  ok: true;
  user: UserRecord;
  credential: WebAuthnCredentialRecord;
  /** Whether the authenticator verified the user (PIN, biometrics): amr `user`. */
  userVerified: boolean;
}

/**
 * Verifies an assertion, the one call every passkey flow makes: the challenge (taken once,
 * from the store, issued by `passkeyAuthenticationOptions` for the same `userId` or for nobody),
 * the credential (registered, to `userId` when given, to the user handle the authenticator
 * returned), origin, RP id, signature, user verification (required without `userId`), and the
 * counter (must grow unless the authenticator keeps none; moved by compare-and-swap, so a
 * cloned authenticator racing the real one loses). `reason` is for the log only.
 */
export async function verifyPasskeyAssertion(deps: Deps, response: AuthenticationResponseJSON, forUser?: { userId: string }): Promise<VerifiedPasskey | PasskeyFailure> {
  const party = rp(deps);
  const userId = forUser?.userId ?? null;
  const challenge = await takeChallenge(deps, response.response.clientDataJSON, 'authentication', userId);
  if (challenge === null) return { ok: false, reason: 'challenge unknown, used, expired or for another user' };
  const credential = await deps.stores.webauthn.findCredential(response.id);
  if (credential === null || response.rawId !== response.id) return { ok: false, reason: 'unknown credential' };
  if (userId !== null && credential.userId !== userId) return { ok: false, reason: 'credential of another user' };
  const handle = response.response.userHandle;
  if (handle !== undefined && handle !== isoBase64URL.fromUTF8String(credential.userId)) return { ok: false, reason: 'user handle of another user' };
  const requireUserVerification = userId === null;
  let info;
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: party.origin,
      expectedRPID: party.id,
      credential: { id: credential.id, publicKey: isoBase64URL.toBuffer(credential.publicKey), counter: credential.counter, transports: credential.transports as AuthenticatorTransportFuture[] },
      requireUserVerification,
    });
    if (!verified.verified) return { ok: false, reason: 'not verified' };
    info = verified.authenticationInfo;
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : 'not verified' };
  }
  const moved = await deps.stores.webauthn.recordUse(credential.id, { fromCounter: credential.counter, counter: info.newCounter, backedUp: info.credentialBackedUp, at: deps.clock.now() });
  if (!moved) return { ok: false, reason: 'counter changed meanwhile (another use of this credential at the same time)' };
  const user = await deps.stores.users.findById(credential.userId);
  if (user === null) return { ok: false, reason: 'no such user' };
  // Disabled (issue 18): refused as a passkey that does not verify.
  if (isDisabled(user)) return { ok: false, reason: 'account disabled' };
  return { ok: true, user, credential: { ...credential, counter: info.newCounter, backedUp: info.credentialBackedUp, lastUsedAt: deps.clock.now() }, userVerified: info.userVerified };
}
