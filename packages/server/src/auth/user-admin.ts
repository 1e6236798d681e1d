import type { FastifyRequest } from 'fastify';
import type { Deps } from '../context.js';
import { randomId } from '../crypto/secrets.js';
import { GatehouseError } from '../errors/index.js';
import { UsernameTakenError, type UserRecord } from '../stores/types.js';
import { usernameSkeleton } from '../util/confusable-skeleton.js';
import { recordAudit } from './audit.js';
import { admitHash, hashPassword, type AuthContext } from './auth-context.js';
import { checkNewPassword } from './policy/password.js';
import { canonicalUsername, validateUsername } from './policy/username.js';

/** Role names: a letter or digit, then letters, digits, `_ . : -`; at most 64. */
const ROLE_RE = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;

export function checkRole(role: string): string {
  if (!ROLE_RE.test(role)) {
    throw new GatehouseError('invalid_request', {
      detail: 'A role is 1 to 64 lower-case letters, digits, "_", ".", ":" or "-", starting with a letter or digit.',
    });
  }
  return role;
}

export interface CreateUserInput {
  username: string;
  password: string;
  roles?: string[];
}

/**
 * Runs `fn` for a username only when no other creation of that name or a look-alike of it (same
 * skeleton) is in progress in this auth service (`AuthContext.creating`), else after it: N parallel sign-ups of one name hash
 * one password and answer the rest `username_taken` from the store, instead of each queuing a
 * hash (and filling the queue's per-username share); "admin" and "аdmin" racing each other are
 * decided one after the other. Across instances the unique index still decides for one
 * canonical name; two look-alikes created at the same moment on two instances can both pass.
 */
async function oneAtATime<T>(auth: AuthContext, key: string, fn: () => Promise<T>): Promise<T> {
  const inFlight = auth.creating;
  for (let p = inFlight.get(key); p !== undefined; p = inFlight.get(key)) await p.catch(() => undefined);
  const run = fn();
  inFlight.set(key, run);
  try {
    return await run;
  } finally {
    if (inFlight.get(key) === run) inFlight.delete(key);
  }
}

/**
 * Creates a user with the sign-up rules (used by POST /auth/signup and `gatehouse users add`).
 * One insert: either the user exists afterwards or nothing was written. Throws GatehouseError
 * `invalid_username`, `weak_password`, `invalid_password`, `invalid_request` (bad role), `username_taken`
 * (the name, or one that looks the same: `findLookalike`),
 * and, for a sign-up request (`from`), 503 `busy` when the hashing queue refuses it (normal lane).
 */
export async function createUser(auth: AuthContext, input: CreateUserInput, from?: FastifyRequest): Promise<UserRecord> {
  const { display, canonical } = validateUsername(input.username);
  checkNewPassword(input.password, display, auth.deps.config);
  const roles = [...new Set((input.roles ?? []).map(checkRole))];
  return oneAtATime(auth, usernameSkeleton(display), () => insertUser(auth, { display, canonical, password: input.password, roles }, from));
}

async function insertUser(
  auth: AuthContext,
  input: { display: string; canonical: string; password: string; roles: string[] },
  from: FastifyRequest | undefined,
): Promise<UserRecord> {
  const { deps } = auth;
  const { display, canonical, roles } = input;
  // Cheap early answer; the unique index below is what decides under a race.
  if (await deps.stores.users.findByCanonical(canonical)) throw new GatehouseError('username_taken');
  // One that looks the same (UTS #39 skeleton; docs/configuration.md, *Usernames*): taken too.
  if (await deps.stores.users.findLookalike(display)) {
    throw new GatehouseError('username_taken', {
      detail: 'The username looks the same as one that is taken (letters from another script, or look-alikes such as "rn" and "m", "0" and "o"); choose another.',
    });
  }
  await refuseQuarantined(deps, canonical, display);
  const ticket = from === undefined ? undefined : admitHash(auth, { lane: 'normal', request: from, username: canonical });
  const passwordHash = await hashPassword(auth, input.password, ticket);
  const now = deps.clock.now();
  const user: UserRecord = {
    id: randomId(),
    username: display,
    usernameCanonical: canonical,
    passwordHash,
    roles,
    createdAt: now,
    updatedAt: now,
    disabledAt: null,
    passwordChangeRequired: false,
  };
  try {
    await deps.stores.users.create(user);
  } catch (err) {
    if (err instanceof UsernameTakenError) throw new GatehouseError('username_taken', { cause: err });
    throw err;
  }
  deps.logger.info({ event: 'user.created', userId: user.id, username: canonical, roles }, 'user created');
  return user;
}

/**
 * Gives a user another username with exactly the sign-up rules (`validateUsername`, taken names,
 * look-alikes of another user's name: `findLookalike`). The same name (same display form) is a
 * no-op: `changed` false, nothing written. A new form of the user's own name ("alice" to
 * "Alice") is a rename. Decided one at a time with sign-ups of a look-alike name in this
 * service; across instances the unique index decides (`UsernameTakenError` -> `username_taken`).
 * Throws GatehouseError `invalid_username`, `username_taken`, `not_found` (the user is gone).
 */
export async function renameUser(auth: AuthContext, user: UserRecord, username: string): Promise<{ user: UserRecord; changed: boolean }> {
  const { display, canonical } = validateUsername(username);
  if (display === user.username && canonical === user.usernameCanonical) return { user, changed: false };
  const { deps } = auth;
  return oneAtATime(auth, usernameSkeleton(display), async () => {
    const holder = await deps.stores.users.findByCanonical(canonical);
    if (holder && holder.id !== user.id) throw new GatehouseError('username_taken');
    const lookalike = await deps.stores.users.findLookalike(display);
    if (lookalike && lookalike.id !== user.id) {
      throw new GatehouseError('username_taken', {
        detail: 'The username looks the same as one that is taken (letters from another script, or look-alikes such as "rn" and "m", "0" and "o"); choose another.',
      });
    }
    // Another form of the user's own name is theirs to take, whatever a look-alike left behind.
    if (canonical !== user.usernameCanonical) await refuseQuarantined(deps, canonical, display);
    const now = deps.clock.now();
    let renamed: boolean;
    try {
      renamed = await deps.stores.users.rename(user.id, display, canonical, now);
    } catch (err) {
      if (err instanceof UsernameTakenError) throw new GatehouseError('username_taken', { cause: err });
      throw err;
    }
    if (!renamed) throw new GatehouseError('not_found', { detail: 'Your account no longer exists.' });
    deps.logger.info({ event: 'user.renamed', userId: user.id }, 'username changed');
    return { user: { ...user, username: display, usernameCanonical: canonical, updatedAt: now }, changed: true };
  });
}

/**
 * The name (or one that looks the same) of an account deleted less than
 * `users.deletedUsernameQuarantineDays` ago (docs/data-deletion.md): `username_taken`, as for a
 * name in use, so nobody takes over a deleted account's name while others still know it by it.
 */
async function refuseQuarantined(deps: Deps, canonical: string, display: string): Promise<void> {
  if (await deps.stores.users.isQuarantined(canonical, display, deps.clock.now())) {
    throw new GatehouseError('username_taken', {
      detail: 'The username belonged to an account deleted recently and is held back for a while; choose another.',
    });
  }
}

/** The user of `username` (any spelling that canonicalises to theirs), or `not_found` (the CLI's `users` commands). */
export async function findUser(deps: Deps, username: string): Promise<UserRecord> {
  const user = await deps.stores.users.findByCanonical(canonicalUsername(username));
  if (!user) throw new GatehouseError('not_found', { detail: 'No user has that username; "gatehouse users list" shows them.' });
  return user;
}

/** Adds a role (idempotent). Throws `invalid_request` (bad role) or `not_found`. */
export async function grantRole(deps: Deps, username: string, role: string): Promise<UserRecord> {
  checkRole(role);
  const user = await findUser(deps, username);
  if (user.roles.includes(role)) return user;
  const roles = [...user.roles, role];
  const now = deps.clock.now();
  await deps.stores.users.setRoles(user.id, roles, now);
  deps.logger.info({ event: 'user.role.granted', userId: user.id, username: user.usernameCanonical, role }, 'role granted');
  return { ...user, roles, updatedAt: now };
}

/** Removes a role (idempotent). Throws `invalid_request` (bad role) or `not_found`. */
export async function revokeRole(deps: Deps, username: string, role: string): Promise<UserRecord> {
  checkRole(role);
  const user = await findUser(deps, username);
  if (!user.roles.includes(role)) return user;
  const roles = user.roles.filter((r) => r !== role);
  const now = deps.clock.now();
  await deps.stores.users.setRoles(user.id, roles, now);
  deps.logger.info({ event: 'user.role.revoked', userId: user.id, username: user.usernameCanonical, role }, 'role revoked');
  return { ...user, roles, updatedAt: now };
}

/**
 * `gatehouse users mfa reset <name>` (support, issue 17): removes the user's second factors —
 * the TOTP app (pending or confirmed), the recovery codes and the passkeys (a passkey is a
 * second factor after the password too, so one left behind would still ask for it) — so the
 * password alone signs in again; recorded in the user's activity (`mfa.totp_removed` and one
 * `passkey.removed` each, by: admin). Sessions stay. Throws `not_found`. Returns what was removed.
 */
export async function resetMfa(deps: Deps, username: string): Promise<{ user: UserRecord; totp: boolean; recoveryCodes: number; passkeys: number }> {
  const user = await findUser(deps, username);
  const totp = await deps.stores.mfa.deleteTotp(user.id);
  const recoveryCodes = await deps.stores.mfa.deleteRecoveryCodes(user.id);
  let passkeys = 0;
  for (const credential of await deps.stores.webauthn.listCredentials(user.id)) {
    if (!(await deps.stores.webauthn.deleteCredential(user.id, credential.id))) continue;
    passkeys++;
    await recordAudit(deps, null, { type: 'passkey.removed', userId: user.id, deviceId: null, detail: { by: 'admin', credential_id: credential.id, name: credential.name } });
  }
  await recordAudit(deps, null, { type: 'mfa.totp_removed', userId: user.id, deviceId: null, detail: { by: 'admin', totp, recovery_codes_removed: recoveryCodes, passkeys_removed: passkeys } });
  deps.logger.info({ event: 'user.mfa.reset', userId: user.id, username: user.usernameCanonical, totp, recovery_codes: recoveryCodes, passkeys }, 'second factors reset');
  return { user, totp, recoveryCodes, passkeys };
}
