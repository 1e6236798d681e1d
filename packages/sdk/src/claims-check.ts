import type { JWTPayload } from 'jose';
import { MAX_ACTOR_DEPTH, type ClientPassportClaims, type PassportActor, type PassportAuth, type PassportClaims, type UserPassportAuth, type UserPassportClaims } from './claims.js';
import { PassportError, refusal } from './errors.js';

const AUTH_KINDS: ReadonlySet<string> = new Set<PassportAuth>(['session', 'access_token', 'api_token', 'client']);

function malformed(message: string): PassportError {
  return new PassportError('passport_malformed', message);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function optionalString(payload: JWTPayload, name: 'scope' | 'sid' | 'did'): string | undefined {
  const value = payload[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw malformed(`${name} must be a string`);
  return value;
}

/**
 * The `act` chain (RFC 8693 §4.1) as Gatehouse mints it: each level an object with a non-empty
 * string `sub` and at most a nested `act`, no other member, at most MAX_ACTOR_DEPTH levels.
 * Returns a frozen copy and the actors, nearest first; throws `passport_malformed` otherwise.
 */
export function checkActor(value: unknown): { act: PassportActor; actors: string[] } {
  const actors: string[] = [];
  const levels: { sub: string }[] = [];
  let level: unknown = value;
  while (level !== undefined) {
    if (actors.length >= MAX_ACTOR_DEPTH) throw malformed(`act is nested deeper than ${MAX_ACTOR_DEPTH}`);
    if (typeof level !== 'object' || level === null || Array.isArray(level)) throw malformed('act must be an object');
    const { sub, act, ...rest } = level as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw malformed('act holds only sub and act');
    if (!isNonEmptyString(sub)) throw malformed('act.sub must be a non-empty string');
    actors.push(sub);
    levels.push({ sub });
    level = act;
  }
  // Rebuild innermost first, so the copy holds nothing but what was checked.
  let act: PassportActor | undefined;
  for (let i = levels.length - 1; i >= 0; i--) act = Object.freeze(act === undefined ? { sub: levels[i]!.sub } : { sub: levels[i]!.sub, act });
  return { act: act!, actors };
}

/**
 * Shape checks on a payload whose signature, typ, iss, aud and times are already verified (checkRegisteredClaims).
 * Returns a frozen copy holding only the passport's claims; throws `passport_malformed` otherwise.
 */
export function toPassportClaims(payload: JWTPayload): PassportClaims {
  const { iss, aud, sub, iat, exp, jti, username, roles, auth } = payload;
  if (!isNonEmptyString(iss)) throw malformed('iss must be a string');
  if (!isNonEmptyString(aud)) throw malformed('aud must be a single string');
  if (!isNonEmptyString(sub)) throw malformed('sub must be a non-empty string');
  if (typeof iat !== 'number' || typeof exp !== 'number') throw malformed('iat and exp must be numbers');
  if (!isNonEmptyString(jti)) throw malformed('jti must be a non-empty string');
  if (!Array.isArray(roles) || !roles.every((r): r is string => typeof r === 'string')) {
    throw malformed('roles must be an array of strings');
  }
  if (typeof auth !== 'string' || !AUTH_KINDS.has(auth)) throw malformed('auth is not a known kind');
  const scope = optionalString(payload, 'scope');

  if (auth === 'client') {
    // A service calling as itself: no user, so nothing a user-minded check could mistake for one.
    if (payload.client_id !== sub) throw malformed('client_id must equal sub in a client passport');
    if (username !== undefined || payload.sid !== undefined || payload.did !== undefined || payload.amr !== undefined || payload.auth_time !== undefined) {
      throw malformed('a client passport carries no username, sid, did, amr or auth_time');
    }
    if (roles.length !== 0) throw malformed('a client passport carries no roles');
    // Token exchange acts for users only; a client passport never carries an act chain.
    if (payload.act !== undefined) throw malformed('a client passport carries no act');
    const claims: ClientPassportClaims = { iss, aud, sub, iat, exp, jti, client_id: sub, roles: Object.freeze([]) as unknown as string[], auth };
    if (scope !== undefined) claims.scope = scope;
    return Object.freeze(claims);
  }

  if (typeof username !== 'string') throw malformed('username must be a string');
  const claims: UserPassportClaims = {
    iss,
    aud,
    sub,
    iat,
    exp,
    jti,
    username,
    roles: Object.freeze([...roles]) as string[],
    auth: auth as UserPassportAuth,
  };
  const sid = optionalString(payload, 'sid');
  const did = optionalString(payload, 'did');
  if (scope !== undefined) claims.scope = scope;
  if (sid !== undefined) claims.sid = sid;
  if (did !== undefined) claims.did = did;
  const { amr, auth_time: authTime } = payload;
  if (amr !== undefined) {
    if (!Array.isArray(amr) || !amr.every((m): m is string => typeof m === 'string')) throw malformed('amr must be an array of strings');
    claims.amr = Object.freeze([...amr]);
  }
  if (authTime !== undefined) {
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) throw malformed('auth_time must be a number');
    claims.auth_time = authTime;
  }
  if (payload.act !== undefined) {
    const { act, actors } = checkActor(payload.act);
    claims.act = act;
    claims.actors = Object.freeze(actors);
  }
  return Object.freeze(claims);
}

/** What `checkRegisteredClaims` holds a payload to: the verifier's options. */
export interface RegisteredClaimRules {
  issuer: string;
  audience: string;
  clockToleranceSec: number;
  maxTokenAgeSec: number;
}

/**
 * The claims jose's `jwtVerify` checked for the verifier (options `issuer`, `audience`,
 * `requiredClaims` sub/iat/exp/jti/auth, `maxTokenAge`, `clockTolerance`), in jose's order and
 * with the codes its errors mapped to (jose-errors.ts): a missing claim or a time that is not a
 * number is `passport_malformed`; then `iss`, `aud` (a string, or a list holding the audience),
 * `nbf`, `exp` and the age by `iat`, all with the leeway. `nowSec`: whole seconds, as jose rounds.
 * Throws a `PassportError`.
 */
export function checkRegisteredClaims(payload: Record<string, unknown>, rules: RegisteredClaimRules, nowSec: number): void {
  for (const claim of PRESENCE_ORDER) {
    if (!Object.prototype.hasOwnProperty.call(payload, claim)) throw refusal('passport_malformed');
  }
  if (payload.iss !== rules.issuer) throw refusal('issuer_mismatch');
  const { aud, iat, nbf, exp } = payload;
  if (aud !== rules.audience && !(Array.isArray(aud) && aud.includes(rules.audience))) throw refusal('audience_mismatch');
  const tolerance = rules.clockToleranceSec;
  if (typeof iat !== 'number') throw refusal('passport_malformed');
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw refusal('passport_malformed');
    if (nbf > nowSec + tolerance) throw refusal('passport_not_yet_valid');
  }
  if (typeof exp !== 'number') throw refusal('passport_malformed');
  if (exp <= nowSec - tolerance) throw refusal('passport_expired');
  const age = nowSec - iat;
  if (age - tolerance > rules.maxTokenAgeSec) throw refusal('passport_expired');
  if (age < -tolerance) throw refusal('passport_not_yet_valid');
}

/** The claims that must be there, in the order jose looked for them (it names the first missing). */
const PRESENCE_ORDER = ['iss', 'aud', 'iat', 'auth', 'jti', 'exp', 'sub'] as const;
