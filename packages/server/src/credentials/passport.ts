import { PASSPORT_TYP, type PassportActor, type PassportAuth, type PassportClaims } from '@gatehouse/sdk';
import type { GatehouseConfig } from '../config/types.js';
import { signJwt } from '../crypto/jwt.js';
import type { ActiveSigningKey } from '../crypto/keyring-types.js';
import { randomId } from '../crypto/secrets.js';

/**
 * The one place passports (`typ: passport+jwt`, DESIGN §2) are minted: the gateway's passport
 * stage (`gateway/pipeline/passport/passport-cache.ts`) for the requests it forwards, and the
 * token-exchange grant (`auth/grants/token-exchange.ts`) for a service calling the next one on
 * a user's behalf. Both sign the same claims with the same key and `typ`, so a service's SDK
 * verifier cannot tell them apart but by `act`.
 */

/** The most a passport may live (DESIGN §2). */
export const MAX_PASSPORT_TTL_SEC = 60;

/** The configured passport lifetime (`passport.ttlSec`), kept within 1..60 s. */
export function passportTtlSec(config: GatehouseConfig): number {
  return Math.min(Math.max(1, config.passport.ttlSec), MAX_PASSPORT_TTL_SEC);
}

/** Who a passport names, and how that user proved it (the gateway's Identity, or a verified subject passport). */
export interface PassportSubject {
  readonly auth: PassportAuth;
  readonly user: { readonly id: string; readonly username: string; readonly roles: readonly string[] };
  readonly sid: string | undefined;
  readonly did: string | undefined;
  /** Space-separated scopes (token credentials); undefined: none (a cookie session). */
  readonly scope: string | undefined;
  /** The services that act on the user's behalf, nearest first (token exchange); undefined: none. */
  readonly act?: PassportActor | undefined;
  /** For `auth: "client"` (a service calling as itself): its client id (`user.id` is the same). */
  readonly clientId?: string | undefined;
  /** How the user proved who they are (RFC 8176 names); undefined: not known (API tokens, clients). */
  readonly amr?: readonly string[] | undefined;
  /** When the user last authenticated (epoch seconds); undefined where `amr` is. */
  readonly authTime?: number | undefined;
}

/** The claims of a passport for `aud`, valid from `iat` to `exp` (epoch seconds), with a new `jti`. */
export function passportClaims(issuer: string, subject: PassportSubject, aud: string, iat: number, exp: number): PassportClaims {
  const base = { iss: issuer, aud, sub: subject.user.id, iat, exp, jti: randomId() };
  let claims: PassportClaims;
  if (subject.auth === 'client') {
    // A service calling as itself (issue 14 §3): its client id, no user, no roles, never an act chain.
    claims = { ...base, client_id: subject.clientId ?? subject.user.id, roles: [], auth: 'client' };
  } else {
    claims = { ...base, username: subject.user.username, roles: [...subject.user.roles], auth: subject.auth };
    if (subject.sid !== undefined) claims.sid = subject.sid;
    if (subject.did !== undefined) claims.did = subject.did;
    if (subject.act !== undefined) claims.act = subject.act;
    if (subject.amr !== undefined) claims.amr = [...subject.amr];
    if (subject.authTime !== undefined) claims.auth_time = subject.authTime;
  }
  if (subject.scope !== undefined) claims.scope = subject.scope;
  return claims;
}

/** Signs passport claims with the current signing key (synchronous underneath; a failure is a rejection, as before). */
export async function signPassport(claims: PassportClaims, key: ActiveSigningKey): Promise<string> {
  return signJwt({ ...claims }, { typ: PASSPORT_TYP, key });
}
